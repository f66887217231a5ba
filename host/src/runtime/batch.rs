//! Several commands in one exec.
//!
//! An engine round trip costs tens of milliseconds, and the Docker engine
//! serializes execs into one container, so five checks as five execs take
//! five times as long as one shell script doing them. A batch is run as one
//! generated POSIX `sh` script that starts each command in the background
//! (in its own directory, with its own environment), waits for all of them,
//! and prints each one's exit code and output in a framed form that any
//! bytes survive.

use super::command::quote;
use crate::capabilities::{Bytes, Command, CommandOutput};

/// Marks the start of a command's frame in the batch's output.
const FRAME: &str = "@@proctor-batch";

/// Whether `cmds` can run as one batch: a batch cannot feed each command
/// its own standard input.
pub fn batchable(cmds: &[Command]) -> bool {
    cmds.len() > 1 && cmds.iter().all(|c| c.stdin.is_none() && !c.argv.is_empty())
}

/// The script that runs `cmds`. It spawns as little as it can, since each
/// process costs about a millisecond in a confined machine: exit codes are
/// read with the `read` builtin, all sizes come from one `wc`, all output
/// from one `cat`, and `head` runs only for a stream over its cap.
pub fn script(cmds: &[Command], default_cap: u32) -> String {
    let mut s = String::from("d=/tmp/.proctor-batch-$$\n");
    for (i, c) in cmds.iter().enumerate() {
        s.push('(');
        if let Some(dir) = &c.workdir {
            s.push_str(&format!("cd {} || exit 126; ", quote(dir)));
        }
        for (k, v) in &c.env {
            s.push_str(&format!("export {}={}; ", quote_name(k), quote(v)));
        }
        let argv: Vec<String> = c.argv.iter().map(|a| quote(a)).collect();
        s.push_str(&format!(
            "exec {} ) </dev/null >\"$d-{i}.out\" 2>\"$d-{i}.err\"; echo $? >\"$d-{i}.rc\" &\n",
            argv.join(" ")
        ));
    }
    s.push_str("wait\nwc -c \"$d\"-*.out \"$d\"-*.err >\"$d.sz\"\n");
    // `wc` prints `<size> <path>` lines; keep each size in `s_<i>_<stream>`.
    s.push_str("while read n f; do case $f in \"$d\"-*) b=${f##*-}; eval \"s_${b%.*}_${b#*.}=$n\";; esac; done <\"$d.sz\"\n");
    for i in 0..cmds.len() {
        s.push_str(&format!("read rc <\"$d-{i}.rc\"; printf '{FRAME} %s %s %s\\n' \"$rc\" \"$s_{i}_out\" \"$s_{i}_err\"\n"));
    }
    // Streams within their cap go out through one `cat`, in order.
    s.push_str("p=\n");
    for (i, c) in cmds.iter().enumerate() {
        let cap = c.max_output_bytes.unwrap_or(default_cap);
        for stream in ["out", "err"] {
            s.push_str(&format!(
                "if [ \"$s_{i}_{stream}\" -gt {cap} ]; then [ -n \"$p\" ] && cat $p; p=; head -c {cap} \"$d-{i}.{stream}\"; \
                 else p=\"$p $d-{i}.{stream}\"; fi\n"
            ));
        }
    }
    s.push_str("[ -n \"$p\" ] && cat $p\nrm -f \"$d\"-* \"$d.sz\"\n");
    s
}

/// Whether a batch's output shows that its script ran (its first frame).
pub fn started(output: &[u8]) -> bool {
    output.starts_with(FRAME.as_bytes())
}

/// Environment names are not quoted: keep them to what a shell accepts.
fn quote_name(name: &str) -> String {
    name.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').collect()
}

/// Reads the batch's output back into one result per command: first a
/// header per command (exit code and full sizes), then the capped streams in
/// order. `None` when the output is not what the script prints.
pub fn parse(output: &[u8], cmds: &[Command], default_cap: u32, duration_ms: u32) -> Option<Vec<CommandOutput>> {
    let mut rest = output;
    let mut headers = Vec::with_capacity(cmds.len());
    for _ in cmds {
        let line_end = rest.iter().position(|b| *b == b'\n')?;
        let header = std::str::from_utf8(&rest[..line_end]).ok()?;
        let mut fields = header.strip_prefix(FRAME)?.split_whitespace().map(str::parse::<u64>);
        headers.push((fields.next()?.ok()?, fields.next()?.ok()? as usize, fields.next()?.ok()? as usize));
        rest = &rest[line_end + 1..];
    }
    let mut take = |len: usize| -> Option<Vec<u8>> {
        let taken = rest.get(..len)?.to_vec();
        rest = &rest[len..];
        Some(taken)
    };
    cmds.iter()
        .zip(headers)
        .map(|(c, (rc, out_len, err_len))| {
            let cap = c.max_output_bytes.unwrap_or(default_cap) as usize;
            Some(CommandOutput {
                exit_code: rc as i32,
                stdout: Bytes(take(out_len.min(cap))?),
                stderr: Bytes(take(err_len.min(cap))?),
                stdout_truncated: out_len > cap,
                stderr_truncated: err_len > cap,
                duration_ms,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(argv: &[&str]) -> Command {
        Command { machine: "main".into(), argv: argv.iter().map(|s| s.to_string()).collect(), ..Command::default() }
    }

    #[test]
    fn arguments_are_quoted_so_nothing_is_interpreted() {
        let s = script(&[cmd(&["echo", "it's $HOME; rm -rf /"]), cmd(&["true"])], 10);
        assert!(s.contains(r"'it'\''s $HOME; rm -rf /'"), "{s}");
    }

    #[test]
    fn framed_output_with_any_bytes_parses_back() {
        let cmds = [cmd(&["a"]), Command { max_output_bytes: Some(3), ..cmd(&["b"]) }];
        let mut output = b"@@proctor-batch 0 4 0\n@@proctor-batch 2 10 1\n".to_vec();
        output.extend_from_slice(b"x\n\xffyabc!");
        let parsed = parse(&output, &cmds, 100, 7).expect("parses");
        assert_eq!(parsed[0].stdout.0, b"x\n\xffy");
        assert_eq!((parsed[1].exit_code, parsed[1].stdout.0.as_slice(), parsed[1].stderr.0.as_slice()), (2, &b"abc"[..], &b"!"[..]));
        assert!(parsed[1].stdout_truncated && !parsed[1].stderr_truncated);
        assert!(parse(b"sh: not found\n", &cmds, 100, 7).is_none());
    }
}
