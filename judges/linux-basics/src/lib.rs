//! Judge and hint provider for the `linux-basics` lab: files, permissions,
//! a user in a group, a web server running as that user, and a cron entry.
//! Each task asks the machine in one round trip (`run_all`); the grading
//! rules are plain functions over the answers, tested natively below.

use std::time::Duration;

use proctor_sdk::{Error, Hint, HintProvider, Judge, Output, Task, Verdict, export, run_all};

const PROJECT: &str = "/workspace/project";
const NOTES_LINE: &str = "deadline: friday";
const BACKUP: &str = "/workspace/project/backup.sh";

struct LinuxBasics;

impl Judge for LinuxBasics {
    fn check(task: &Task) -> Result<Verdict, Error> {
        let m = task.machine();
        let quick = Duration::from_secs(5);
        match task.id() {
            "files" => {
                let mut out = run_all([
                    m.command(["test", "-d", &format!("{PROJECT}/archive")]),
                    m.command(["cat", &format!("{PROJECT}/notes.txt")]).timeout(quick),
                ]);
                let notes = out.pop().expect("two results")?;
                let archive = out.pop().expect("two results")?;
                Ok(grade_files(archive.success(), notes.success().then(|| notes.stdout_text()).as_deref()))
            }
            "permissions" => {
                let out = m.command(["stat", "-c", "%n %a", &format!("{PROJECT}/secret.txt"), BACKUP]).run()?;
                Ok(grade_permissions(&out.stdout_text()))
            }
            "user" => {
                let mut out = run_all([
                    m.command(["getent", "passwd", "alice"]),
                    m.command(["id", "-nG", "alice"]),
                    m.command(["stat", "-c", "%U", "/home/alice"]),
                ]);
                let home_owner = out.pop().expect("three results")?;
                let groups = out.pop().expect("three results")?;
                let passwd = out.pop().expect("three results")?;
                let ok = |o: &Output| o.success().then(|| o.stdout_text());
                Ok(grade_user(ok(&passwd).as_deref(), ok(&groups).as_deref(), ok(&home_owner).as_deref()))
            }
            "process" => {
                let mut out = run_all([
                    m.command(["curl", "-fsS", "--max-time", "3", "http://127.0.0.1:9000/"]).timeout(quick),
                    m.command(["ps", "-eo", "user=,args="]),
                ]);
                let processes = out.pop().expect("two results")?;
                let page = out.pop().expect("two results")?;
                Ok(grade_process(page.success().then(|| page.stdout_text()).as_deref(), &processes.stdout_text()))
            }
            "cron" => {
                let out = m.command(["crontab", "-l"]).run()?;
                Ok(grade_cron(out.success().then(|| out.stdout_text()).as_deref()))
            }
            other => Ok(Verdict::not_gradable(format!("the linux-basics judge has no task `{other}`"))),
        }
    }
}

/// The archive directory exists; the notes say exactly the line.
pub fn grade_files(archive: bool, notes: Option<&str>) -> Verdict {
    let mut v = Verdict::new();
    v.check("archive_directory", archive, if archive { "archive/ exists" } else { "there is no directory archive/ in the project" })
        .hint(format!("Create it: `mkdir {PROJECT}/archive`"));
    match notes {
        None => {
            v.fail("notes_missing", "there is no notes.txt in the project").hint(format!("Write it with `echo '{NOTES_LINE}' > {PROJECT}/notes.txt`"));
        }
        Some(text) => {
            let said = text.trim_end_matches('\n');
            v.check("notes_content", said == NOTES_LINE, format!("notes.txt says {said:?}"))
                .hint(format!("It must hold exactly one line, `{NOTES_LINE}`; `>` replaces a file, `>>` appends to it."));
        }
    }
    v
}

/// `stat -c '%n %a'` of the secret and the script.
pub fn grade_permissions(stat: &str) -> Verdict {
    let mode = |name: &str| stat.lines().find(|l| l.starts_with(&format!("{PROJECT}/{name} "))).and_then(|l| l.rsplit(' ').next()).and_then(|m| u32::from_str_radix(m, 8).ok());
    let mut v = Verdict::new();
    match mode("secret.txt") {
        None => {
            v.fail("secret_missing", "secret.txt is gone from the project").hint("It was there at the start; change its mode, do not delete it.");
        }
        Some(m) => {
            let message = match m {
                0o600 => "secret.txt is readable and writable by its owner only".to_owned(),
                m if m & 0o077 != 0 => format!("secret.txt has mode {m:o}: its group or others still have access"),
                m => format!("secret.txt has mode {m:o}: its owner must be able to read and write it"),
            };
            v.check("secret_mode", m == 0o600, message).hint("`chmod 600 secret.txt` leaves read and write to the owner alone.");
        }
    }
    match mode("backup.sh") {
        None => {
            v.fail("backup_missing", "backup.sh is gone from the project").hint("It was there at the start; change its mode, do not delete it.");
        }
        Some(m) => {
            let runs = m & 0o100 != 0;
            v.check("backup_executable", runs, format!("backup.sh has mode {m:o}{}", if runs { "" } else { ": its owner cannot run it" }))
                .hint("`chmod u+x backup.sh` adds the execute permission for the owner.");
        }
    }
    v
}

/// `getent passwd alice`, `id -nG alice` and the owner of `/home/alice`
/// (`None`: the command failed).
pub fn grade_user(passwd: Option<&str>, groups: Option<&str>, home_owner: Option<&str>) -> Verdict {
    let mut v = Verdict::new();
    let Some(entry) = passwd.map(str::trim).filter(|p| !p.is_empty()) else {
        v.fail("user_missing", "there is no user alice").hint("Create her with `useradd`.");
        return v;
    };
    v.pass("user_exists", "the user alice exists");
    let fields: Vec<&str> = entry.split(':').collect();
    let (home, shell) = (fields.get(5).copied().unwrap_or(""), fields.get(6).copied().unwrap_or(""));
    let owned = home_owner.map(str::trim) == Some("alice");
    let home_ok = home == "/home/alice" && owned;
    let home_message = match (home, home_owner) {
        ("/home/alice", Some(_)) if owned => "alice's home is /home/alice, and hers".to_owned(),
        ("/home/alice", Some(owner)) => format!("/home/alice belongs to {}, not alice", owner.trim()),
        ("/home/alice", None) => "alice's home is /home/alice, but the directory does not exist".to_owned(),
        (other, _) => format!("alice's home is {other:?}, not /home/alice"),
    };
    v.check("home_directory", home_ok, home_message).hint("`useradd --create-home` (`-m`) makes the home directory.");
    v.check("login_shell", shell == "/bin/bash", format!("alice's login shell is {shell:?}"))
        .hint("`useradd --shell /bin/bash` (`-s`) sets it; `usermod -s /bin/bash alice` changes it.");
    let member = groups.is_some_and(|g| g.split_whitespace().any(|g| g == "developers"));
    v.check("group_membership", member, format!("alice's groups: {}", groups.map_or("unknown", str::trim)))
        .hint("`useradd --groups developers` (`-G`) adds her; `usermod -aG developers alice` after the fact.");
    v
}

/// The page on port 9000 (`None`: nothing answered) and `ps -eo user=,args=`.
pub fn grade_process(page: Option<&str>, processes: &str) -> Verdict {
    let mut v = Verdict::new();
    match page {
        None => {
            v.fail("port_not_listening", "nothing answers HTTP on port 9000").hint("Start the server in the background with `&` at the end of the line.");
        }
        Some(body) => {
            v.check("serves_project", body.contains("backup.sh"), if body.contains("backup.sh") { "port 9000 serves the project" } else { "port 9000 answers, but not with the project's files" })
                .hint(format!("Start the server from {PROJECT}: it serves the directory it runs in."));
        }
    }
    let owners: Vec<&str> = processes
        .lines()
        .filter_map(|l| l.trim().split_once(char::is_whitespace))
        .filter(|(_, args)| args.contains("9000") && !args.contains("ps -eo"))
        .map(|(user, _)| user)
        .collect();
    let as_alice = owners.contains(&"alice");
    let message = match owners.as_slice() {
        [] => "no process mentions port 9000".to_owned(),
        _ if as_alice => "the server runs as alice".to_owned(),
        users => format!("the server runs as {}, not alice", users.join(", ")),
    };
    v.check("process_user", as_alice, message).hint("Start it with `runuser -u alice -- …` so it runs as her.");
    v
}

/// Root's crontab (`None`: there is none).
pub fn grade_cron(crontab: Option<&str>) -> Verdict {
    let mut v = Verdict::new();
    let Some(text) = crontab else {
        v.fail("crontab_missing", "root has no crontab").hint("Create one with `crontab -e`, or `echo '…' | crontab -`.");
        return v;
    };
    let entries: Vec<Vec<&str>> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|f| !f[0].contains('='))
        .collect();
    let Some(fields) = entries.iter().find(|f| f.iter().skip(1).any(|w| w.contains("backup.sh"))) else {
        v.fail("backup_not_scheduled", format!("no crontab line runs backup.sh ({} other lines)", entries.len()))
            .hint(format!("Add a line: five time fields, then `{BACKUP}`."));
        return v;
    };
    v.pass("backup_scheduled", "a crontab line runs backup.sh");
    let schedule = if fields[0].starts_with('@') { vec![fields[0]] } else { fields.iter().take(5).copied().collect() };
    let at_0230 = schedule.len() == 5
        && schedule[0].parse::<u32>() == Ok(30)
        && schedule[1].parse::<u32>() == Ok(2)
        && schedule[2..].iter().all(|f| *f == "*");
    let message = if at_0230 {
        "it runs every day at 02:30".to_owned()
    } else {
        match schedule.as_slice() {
            [special] => format!("`{special}` does not run at 02:30"),
            [m, h, dom, mon, dow] if [dom, mon, dow].iter().all(|f| **f == "*") => format!("it runs at minute `{m}` of hour `{h}`, not 02:30"),
            [_, _, dom, mon, dow] => format!("it runs only on some days (day `{dom}`, month `{mon}`, weekday `{dow}`), not every day"),
            _ => "the line has fewer than five time fields".to_owned(),
        }
    };
    v.check("schedule", at_0230, message).hint("Minute first, then hour: `30 2 * * *`.");
    let command = fields.iter().skip(if fields[0].starts_with('@') { 1 } else { 5 }).copied().collect::<Vec<_>>().join(" ");
    let absolute = command.starts_with(BACKUP);
    v.check("command_path", absolute, format!("the command is `{command}`")).hint(format!("cron runs commands from the home directory: give the full path, `{BACKUP}`."));
    v
}

struct LinuxHints;

impl HintProvider for LinuxHints {
    fn hint(task: &Task, attempts: u32, last: Option<&Verdict>) -> Option<Hint> {
        let failing = last.and_then(Verdict::first_failure).map(|c| c.id.as_str());
        let steps: &[&str] = match (task.id(), failing) {
            ("files", Some("notes_content")) => &["Look at the file with `cat -A notes.txt`: it shows line ends and stray spaces.", "Overwrite it: `echo 'deadline: friday' > /workspace/project/notes.txt`"],
            ("files", _) => &[
                "Two things: a directory and a file, both inside /workspace/project.",
                "`mkdir archive` makes the directory; `echo '…' > notes.txt` writes the file.",
                "Run: `mkdir -p /workspace/project/archive && echo 'deadline: friday' > /workspace/project/notes.txt`",
            ],
            ("permissions", Some("backup_executable")) => &["The owner needs the `x` permission on the script.", "Run: `chmod u+x /workspace/project/backup.sh`"],
            ("permissions", _) => &[
                "Each digit of a mode is owner, group, others: read 4 + write 2 + execute 1.",
                "Owner read+write is 6, nothing for the others is 0.",
                "Run: `chmod 600 /workspace/project/secret.txt && chmod u+x /workspace/project/backup.sh`",
            ],
            ("user", Some("group_membership")) => &["`id alice` lists her groups.", "Run: `usermod -aG developers alice`"],
            ("user", Some("login_shell")) => &["The shell is the last field of her line in /etc/passwd.", "Run: `usermod -s /bin/bash alice`"],
            ("user", _) => &[
                "`useradd` takes options for the home directory (`-m`), the shell (`-s`) and extra groups (`-G`).",
                "Run: `useradd -m -s /bin/bash -G developers alice`",
            ],
            ("process", Some("process_user")) => &[
                "`ps -o user,cmd -C python3` shows who runs the server; stop yours with `kill` first.",
                "Run: `runuser -u alice -- sh -c 'cd /workspace/project && python3 -m http.server 9000 >/dev/null 2>&1 &'`",
            ],
            ("process", _) => &[
                "`python3 -m http.server 9000` serves the directory it is started in.",
                "Start it as alice, from the project directory, with `&` at the end.",
                "Run: `runuser -u alice -- sh -c 'cd /workspace/project && python3 -m http.server 9000 >/dev/null 2>&1 &'`",
            ],
            ("cron", Some("schedule")) => &["The fields are minute, hour, day of month, month, day of week.", "Every day at 02:30 is `30 2 * * *`."],
            ("cron", _) => &[
                "One line: five time fields, then the command.",
                "Every day at 02:30 is `30 2 * * *`; the command is the script's full path.",
                "Run: `echo '30 2 * * * /workspace/project/backup.sh' | crontab -`",
            ],
            _ => return None,
        };
        Hint::ladder(steps, attempts)
    }
}

export!(judge: LinuxBasics, hints: LinuxHints);

#[cfg(test)]
mod tests {
    use super::*;

    fn failing(v: &Verdict) -> Vec<&str> {
        v.checks().iter().filter(|c| !c.passed).map(|c| c.id.as_str()).collect()
    }

    #[test]
    fn files_need_the_directory_and_the_exact_line() {
        assert!(grade_files(true, Some("deadline: friday\n")).passed());
        assert_eq!(failing(&grade_files(false, None)), ["archive_directory", "notes_missing"]);
        assert_eq!(failing(&grade_files(true, Some("deadline: friday\ndeadline: friday\n"))), ["notes_content"]);
    }

    #[test]
    fn permissions_are_read_from_stat() {
        let ok = "/workspace/project/secret.txt 600\n/workspace/project/backup.sh 744\n";
        assert!(grade_permissions(ok).passed());
        let v = grade_permissions("/workspace/project/secret.txt 640\n/workspace/project/backup.sh 644\n");
        assert_eq!(failing(&v), ["secret_mode", "backup_executable"]);
        assert!(v.checks()[0].message.contains("640"), "{}", v.checks()[0].message);
        assert_eq!(failing(&grade_permissions("")), ["secret_missing", "backup_missing"]);
    }

    #[test]
    fn the_user_needs_home_shell_and_group() {
        let passwd = "alice:x:1000:1000::/home/alice:/bin/bash\n";
        assert!(grade_user(Some(passwd), Some("alice developers\n"), Some("alice\n")).passed());
        assert_eq!(failing(&grade_user(None, None, None)), ["user_missing"]);
        let v = grade_user(Some("alice:x:1000:1000::/home/alice:/bin/sh"), Some("alice"), None);
        assert_eq!(failing(&v), ["home_directory", "login_shell", "group_membership"]);
    }

    #[test]
    fn the_server_must_answer_and_run_as_alice() {
        let ps = "root     /bin/bash\nalice    python3 -m http.server 9000\nroot     ps -eo user=,args=\n";
        assert!(grade_process(Some("<li>backup.sh</li>"), ps).passed());
        let v = grade_process(None, "root python3 -m http.server 9000\n");
        assert_eq!(failing(&v), ["port_not_listening", "process_user"]);
        assert!(v.checks()[1].message.contains("runs as root"), "{}", v.checks()[1].message);
    }

    #[test]
    fn the_cron_line_must_run_the_script_at_0230_every_day() {
        assert!(grade_cron(Some("# nightly\nMAILTO=\"\"\n30 2 * * * /workspace/project/backup.sh\n")).passed());
        assert_eq!(failing(&grade_cron(None)), ["crontab_missing"]);
        assert_eq!(failing(&grade_cron(Some("0 1 * * * /bin/true\n"))), ["backup_not_scheduled"]);
        let v = grade_cron(Some("2 30 * * * backup.sh\n"));
        assert_eq!(failing(&v), ["schedule", "command_path"]);
        assert!(v.checks().iter().any(|c| c.message.contains("minute `2` of hour `30`")));
        assert_eq!(failing(&grade_cron(Some("30 2 * * 1 /workspace/project/backup.sh\n"))), ["schedule"]);
        assert_eq!(failing(&grade_cron(Some("@daily /workspace/project/backup.sh\n"))), ["schedule"]);
    }
}
