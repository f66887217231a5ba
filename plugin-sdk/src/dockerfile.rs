//! Reading Dockerfiles and `.dockerignore` files inside a judge, and the
//! build → run → probe sequence Dockerfile labs grade with.

use std::time::Duration;

use crate::{BuildReport, Container, Error, Machine, Verdict};

/// One instruction: its keyword (upper case), its arguments as written
/// (continuation lines joined), and the line it starts on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Instruction {
    /// `FROM`, `COPY`, `RUN`, …
    pub keyword: String,
    /// Everything after the keyword.
    pub args: String,
    /// 1-based line number.
    pub line: usize,
}

impl Instruction {
    /// The `--name=value` flags at the start of the arguments.
    pub fn flag(&self, name: &str) -> Option<&str> {
        self.args.split_whitespace().take_while(|w| w.starts_with("--")).find_map(|w| w.strip_prefix(&format!("--{name}=")))
    }

    /// The arguments without leading `--flags`.
    pub fn operands(&self) -> Vec<&str> {
        self.args.split_whitespace().skip_while(|w| w.starts_with("--")).collect()
    }
}

/// A parsed Dockerfile.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Dockerfile {
    /// Its instructions, in order.
    pub instructions: Vec<Instruction>,
}

impl Dockerfile {
    /// Parses `text`: comments and blank lines skipped, `\` continuations
    /// joined.
    pub fn parse(text: &str) -> Dockerfile {
        let mut instructions = Vec::new();
        let mut pending: Option<(usize, String)> = None;
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if pending.is_none() && (line.is_empty() || line.starts_with('#')) {
                continue;
            }
            let (start, mut text) = pending.take().unwrap_or((i + 1, String::new()));
            if !line.starts_with('#') {
                text.push_str(line.trim_end_matches('\\').trim());
                text.push(' ');
            }
            if line.ends_with('\\') {
                pending = Some((start, text));
                continue;
            }
            let text = text.trim();
            let (keyword, args) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
            instructions.push(Instruction { keyword: keyword.to_uppercase(), args: args.trim().to_owned(), line: start });
        }
        if let Some((start, text)) = pending {
            let text = text.trim();
            let (keyword, args) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
            instructions.push(Instruction { keyword: keyword.to_uppercase(), args: args.trim().to_owned(), line: start });
        }
        Dockerfile { instructions }
    }

    /// The instructions with `keyword`.
    pub fn all<'a>(&'a self, keyword: &'a str) -> impl Iterator<Item = (usize, &'a Instruction)> + 'a {
        self.instructions.iter().enumerate().filter(move |(_, i)| i.keyword == keyword)
    }

    /// The stages: for each `FROM`, its index, image and `AS` name.
    pub fn stages(&self) -> Vec<(usize, String, Option<String>)> {
        self.all("FROM")
            .map(|(at, i)| {
                let words = i.operands();
                let name = words.iter().position(|w| w.eq_ignore_ascii_case("as")).and_then(|p| words.get(p + 1)).map(|s| s.to_string());
                (at, words.first().map(|s| s.to_string()).unwrap_or_default(), name)
            })
            .collect()
    }
}

/// Whether `.dockerignore` text keeps the directory `name` out of the
/// build context (`name`, `name/`, `/name`, `**/name`, with or without a
/// trailing `/**`), and is not re-included by a later `!` line.
pub fn ignores(dockerignore: &str, name: &str) -> bool {
    let mut ignored = false;
    for line in dockerignore.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
        let (negated, pattern) = match line.strip_prefix('!') {
            Some(p) => (true, p),
            None => (false, line),
        };
        let pattern = pattern.trim_start_matches("./").trim_start_matches('/').trim_start_matches("**/").trim_end_matches("/**").trim_end_matches('/');
        if pattern == name {
            ignored = !negated;
        }
    }
    ignored
}

/// What became of building an image and probing a container of it.
#[derive(Debug)]
pub struct Probe {
    /// The build.
    pub build: BuildReport,
    /// The HTTP status the container answered (`None`: it never answered).
    pub status: Option<u16>,
    /// The last error while waiting for an answer.
    pub last_error: Option<String>,
}

/// Builds the image of `context` on `machine`, starts it with `port`
/// published and asks `GET path` until it answers or `wait` has passed,
/// then stops it.
pub fn build_and_probe(machine: &Machine, context: &str, port: u16, path: &str, wait: Duration) -> Result<Probe, Error> {
    let build = machine.build_image(context).timeout(Duration::from_secs(240)).run()?;
    let Some(image) = build.image.clone() else { return Ok(Probe { build, status: None, last_error: None }) };
    let container: Container = image.start(&[port]).run()?;
    let deadline = std::time::Instant::now() + wait;
    let (mut status, mut last_error) = (None, None);
    while status.is_none() {
        match container.http_get(port, path) {
            Ok(r) => status = Some(r.status),
            Err(e) if std::time::Instant::now() < deadline => {
                last_error = Some(e.to_string());
                std::thread::sleep(Duration::from_millis(250));
            }
            Err(e) => {
                last_error = Some(e.to_string());
                break;
            }
        }
    }
    container.stop()?;
    Ok(Probe { build, status, last_error })
}

impl Probe {
    /// Adds the build's and the probe's checks to `v`: `build_failed` with
    /// the end of the log, or `build` and then `health_check_failed` when the
    /// container did not answer 200; and the metrics `build_seconds` and
    /// `image_size_mb`. Returns whether both went well.
    pub fn grade(&self, v: &mut Verdict, port: u16, path: &str) -> bool {
        v.metric("build_seconds", self.build.duration.as_secs_f64());
        if self.build.image.is_none() {
            let why = self.build.error.clone().unwrap_or_default();
            v.fail("build_failed", format!("the image did not build: {why}\n{}", log_tail(&self.build.log, 8)))
                .hint("Read the end of the build log: it names the instruction that failed.");
            return false;
        }
        v.metric("image_size_mb", self.build.size_bytes as f64 / 1e6);
        v.pass("build", format!("the image built in {:.1} s", self.build.duration.as_secs_f64()));
        let (ok, message) = match self.status {
            Some(200) => (true, format!("GET {path} on port {port} answered 200")),
            Some(code) => (false, format!("GET {path} on port {port} answered {code}")),
            None => (false, format!("nothing answered on port {port} ({})", self.last_error.as_deref().unwrap_or("no answer"))),
        };
        v.check("health_check_failed", ok, message).hint(format!("The container's command must start the service listening on port {port}."));
        ok
    }
}

/// The last `n` lines of a build log, for a failure message.
pub fn log_tail(log: &str, n: usize) -> String {
    let lines: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instructions_stages_and_flags_are_read() {
        let d = Dockerfile::parse("# syntax\nFROM base AS builder\nRUN a && \\\n    b\n\nFROM base\nCOPY --from=builder /out /app\n");
        let keywords: Vec<&str> = d.instructions.iter().map(|i| i.keyword.as_str()).collect();
        assert_eq!(keywords, ["FROM", "RUN", "FROM", "COPY"]);
        assert_eq!(d.instructions[1].args, "a && b");
        assert_eq!(d.instructions[3].line, 7);
        assert_eq!(d.instructions[3].flag("from"), Some("builder"));
        assert_eq!(d.instructions[3].operands(), ["/out", "/app"]);
        assert_eq!(d.stages(), [(0, "base".into(), Some("builder".into())), (2, "base".into(), None)]);
    }

    #[test]
    fn dockerignore_patterns_match_directories_and_negations_undo_them() {
        assert!(ignores("node_modules\nvenv/\n", "node_modules") && ignores("node_modules\nvenv/\n", "venv"));
        assert!(ignores("**/node_modules/**", "node_modules"));
        assert!(!ignores("node_modules\n!node_modules\n", "node_modules"));
        assert!(!ignores("# node_modules\nnode_modules_old\n", "node_modules"));
    }
}
