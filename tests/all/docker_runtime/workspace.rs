//! A workspace moves between sessions as a tar of a directory's contents.

use proctor::runtime::{Runtime, RuntimeError};

use super::{cleanup, session, sh, spec, started};

#[tokio::test]
async fn a_workspace_is_archived_in_one_session_and_restored_in_another() {
    let Some((docker, from, _guard)) = started("a_workspace_is_archived_in_one_session_and_restored_in_another", "ws-from").await
    else {
        return;
    };
    let made = docker
        .exec(&from, &sh("mkdir -p /workspace/proj/sub && cd /workspace/proj && echo nested > sub/a.txt && \
                          printf '#!/bin/sh\\necho run\\n' > run.sh && chmod 755 run.sh && ln -s sub/a.txt link"))
        .await
        .unwrap();
    assert_eq!(made.exit_code, 0, "{made:?}");
    let tar = docker.archive_dir(&from, "main", "/workspace/proj", 1 << 20).await.unwrap();
    let too_small = docker.archive_dir(&from, "main", "/workspace/proj", 1024).await.unwrap_err();
    assert!(matches!(too_small, RuntimeError::TooLarge(_)), "{too_small:?}");
    let file = docker.archive_dir(&from, "main", "/workspace/proj/run.sh", 1 << 20).await.unwrap_err();
    assert!(matches!(file, RuntimeError::Invalid(_)), "{file:?}");

    let to = session("ws-to");
    let _to_guard = cleanup(&to);
    docker.create(&spec(&to)).await.unwrap();
    docker.restore_dir(&to, "main", "/home/restored/proj", &tar).await.unwrap();
    let seen = docker
        .exec(&to, &sh("cd /home/restored/proj && find . | sort && cat sub/a.txt && stat -c %a run.sh && readlink link && ./run.sh"))
        .await
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&seen.stdout.0),
        ".\n./link\n./run.sh\n./sub\n./sub/a.txt\nnested\n755\nsub/a.txt\nrun\n",
        "{seen:?}"
    );
    docker.destroy(&to).await.unwrap();
    docker.destroy(&from).await.unwrap();
}
