//! The README's tour, run as a newcomer would: every `sh` block of "A tour" runs line by line,
//! in order, in one directory with `rewind` on the PATH — starting the emulator the README
//! starts and sourcing the settings it writes — and every sample (`$ command` in a `text`
//! block) is run at its place in the story and compared, in shape, with what it printed:
//! times, ids, hashes, ports and durations stand for any value, and runs of spaces for any
//! alignment. A sample line `...` stands for any lines.
//!
//! `REWIND_README_UPDATE=1` rewrites the samples that no longer match (those without `...`)
//! from the run.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use super::{DEMO_DEADLINE, finish_within};

/// A fenced block of the tour.
struct Block {
    lang: String,
    /// Line numbers (0-based) of the block's content in the README.
    lines: std::ops::Range<usize>,
}

/// One `$ command` of a `text` block and the output the README shows for it.
struct Sample {
    command: String,
    expected: Vec<String>,
    /// Line numbers of the expected output in the README.
    lines: std::ops::Range<usize>,
}

fn readme_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md")
}

/// The fenced blocks between "## A tour" and the next top-level section.
fn tour_blocks(lines: &[String]) -> Vec<Block> {
    let start = lines.iter().position(|l| l == "## A tour").expect("README has ## A tour");
    let end = lines[start + 1..]
        .iter()
        .position(|l| l.starts_with("## "))
        .map_or(lines.len(), |i| start + 1 + i);
    let mut blocks = Vec::new();
    let mut i = start;
    while i < end {
        if let Some(lang) = lines[i].strip_prefix("```") {
            let close = lines[i + 1..]
                .iter()
                .position(|l| l.starts_with("```"))
                .map(|j| i + 1 + j)
                .expect("every fence closes");
            blocks.push(Block { lang: lang.to_string(), lines: i + 1..close });
            i = close;
        }
        i += 1;
    }
    blocks
}

fn samples(lines: &[String], block: &Block) -> Vec<Sample> {
    let mut out: Vec<Sample> = Vec::new();
    for n in block.lines.clone() {
        if let Some(command) = lines[n].strip_prefix("$ ") {
            out.push(Sample {
                command: command.to_string(),
                expected: Vec::new(),
                lines: n + 1..n + 1,
            });
        } else if let Some(s) = out.last_mut() {
            s.expected.push(lines[n].clone());
            s.lines.end = n + 1;
        }
    }
    for s in &mut out {
        while s.expected.last().is_some_and(|l| l.trim().is_empty()) {
            s.expected.pop();
            s.lines.end -= 1;
        }
    }
    out
}

/// The directory the tour runs in, with `rewind` on the PATH and nothing of the caller's
/// `REWIND_*` settings.
struct Tour {
    dir: PathBuf,
    sourced: Vec<String>,
    emulator: Option<Child>,
}

impl Tour {
    fn new() -> Tour {
        let dir = std::env::temp_dir().join(format!("rewind-readme-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Tour { dir, sourced: Vec::new(), emulator: None }
    }

    fn shell(&self, line: &str) -> Command {
        let bin = Path::new(env!("CARGO_BIN_EXE_rewind")).parent().unwrap();
        let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
        let script =
            self.sourced.iter().map(String::as_str).chain([line]).collect::<Vec<_>>().join("\n");
        let mut c = Command::new("bash");
        c.args(["-eo", "pipefail", "-c", &script])
            .current_dir(&self.dir)
            .env("PATH", path)
            .env("NO_COLOR", "1");
        for (k, _) in std::env::vars() {
            if k.starts_with("REWIND_") {
                c.env_remove(k);
            }
        }
        c
    }

    /// Runs one line of an `sh` block as the README shows it.
    fn step(&mut self, line: &str) {
        let command = line.split(" #").next().unwrap_or_default().trim();
        if command.is_empty() || command.starts_with('#') {
            return;
        }
        if command.starts_with(". ") {
            self.sourced.push(command.to_string());
            return;
        }
        if let Some(background) = command.strip_suffix('&') {
            assert!(self.emulator.is_none(), "one emulator: {line}");
            self.emulator = Some(self.start_in_background(background.trim()));
            return;
        }
        let out = finish_within(&mut self.shell(command), DEMO_DEADLINE);
        assert!(
            matches!(out.status.code(), Some(0 | 6)),
            "README line `{line}` failed ({:?}):\n{}{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// `rewind emulator … &`: started, and waited for until its first line (the connection
    /// JSON) says it serves — by then its settings file is written.
    fn start_in_background(&self, command: &str) -> Child {
        use std::io::BufRead as _;
        let mut child = self
            .shell(&format!("exec {command}"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut first = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
        assert!(first.starts_with('{'), "`{command}` printed {first:?}");
        child
    }

    fn sample(&self, command: &str) -> Output {
        let command = command.replace("cargo run --release -- ", "rewind ");
        finish_within(&mut self.shell(&command), DEMO_DEADLINE)
    }
}

impl Drop for Tour {
    fn drop(&mut self) {
        if let Some(mut child) = self.emulator.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A line as far as the README promises it: any time, id, hash, port, duration or
/// alignment.
fn shape(line: &str) -> String {
    use std::sync::LazyLock;
    static RULES: LazyLock<Vec<(regex::Regex, &str)>> = LazyLock::new(|| {
        [
            (r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?Z?", "<time>"),
            (
                r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
                "<id>",
            ),
            (r"127\.0\.0\.1:\d+", "127.0.0.1:<port>"),
            // A secret's hint comes from the emulator's generator, which every request moves on.
            (r#""hint": "[^"]*""#, r#""hint": <hint>"#),
            (r"\d+\.\d+ s\b", "<seconds>"),
            (r"/tmp/[^\s]+", "<path>"),
            (r"[A-Za-z0-9_.~-]{25,}", "<token>"),
            (r"\b[0-9a-f]{12}\b", "<hash>"),
            (r"\s+", " "),
        ]
        .into_iter()
        .map(|(re, to)| (regex::Regex::new(re).unwrap(), to))
        .collect()
    });
    let mut s = line.to_string();
    for (re, to) in RULES.iter() {
        s = re.replace_all(&s, *to).into_owned();
    }
    s.trim_end().to_string()
}

/// Whether `actual` has the shape of `expected`, where an expected `...` line stands for any
/// number of lines. On a mismatch, the first expected line not found.
fn matches(expected: &[String], actual: &[String]) -> Result<(), String> {
    let actual: Vec<String> = actual.iter().map(|l| shape(l)).collect();
    let mut at = 0;
    let mut skipping = false;
    for e in expected {
        if e.trim() == "..." {
            skipping = true;
            continue;
        }
        let want = shape(e);
        let found = if skipping {
            actual[at..].iter().position(|a| *a == want).map(|i| at + i)
        } else {
            (actual.get(at) == Some(&want)).then_some(at)
        };
        let Some(i) = found else {
            return Err(format!("expected `{e}` (shape `{want}`) at output line {}", at + 1));
        };
        at = i + 1;
        skipping = false;
    }
    if !skipping && at < actual.len() {
        return Err(format!("the output goes on: `{}`", actual[at]));
    }
    Ok(())
}

#[test]
fn readme_tour_runs_as_shown_and_prints_what_it_shows() {
    let text = std::fs::read_to_string(readme_path()).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let update = std::env::var_os("REWIND_README_UPDATE").is_some();
    let mut tour = Tour::new();
    let mut rewrites: Vec<(std::ops::Range<usize>, Vec<String>)> = Vec::new();
    let mut failures = Vec::new();
    let mut ran = 0;
    for block in tour_blocks(&lines) {
        match block.lang.as_str() {
            "sh" => {
                for n in block.lines.clone() {
                    tour.step(&lines[n]);
                    ran += 1;
                }
            }
            "text" => {
                for sample in samples(&lines, &block) {
                    let out = tour.sample(&sample.command);
                    let printed = String::from_utf8_lossy(&out.stdout).into_owned();
                    let actual: Vec<String> = printed.lines().map(str::to_string).collect();
                    if let Err(why) = matches(&sample.expected, &actual) {
                        failures.push(format!(
                            "$ {}\n  {why}\n  it printed:\n{printed}{}",
                            sample.command,
                            String::from_utf8_lossy(&out.stderr)
                        ));
                        // Only samples that no longer match are rewritten: no churn of times.
                        if !sample.expected.iter().any(|l| l.trim() == "...") {
                            rewrites.push((sample.lines.clone(), actual));
                        }
                    }
                    ran += 1;
                }
            }
            _ => {}
        }
    }
    assert!(ran >= 25, "only {ran} commands found in the tour");
    if update {
        for (range, actual) in rewrites.into_iter().rev() {
            lines.splice(range, actual);
        }
        std::fs::write(readme_path(), lines.join("\n") + "\n").unwrap();
        return;
    }
    assert!(
        failures.is_empty(),
        "README samples differ from what the commands print (REWIND_README_UPDATE=1 rewrites them):\n\n{}",
        failures.join("\n\n")
    );
}

#[test]
fn shapes_ignore_values_that_change_between_runs() {
    assert_eq!(
        shape("snapshot 2 at 2026-12-04T13:16:09.568048Z  0.1 s, 14 requests"),
        shape("snapshot 2 at 2026-11-28T01:40:08Z 12.3 s, 14 requests")
    );
    assert_ne!(shape("14 requests"), shape("15 requests"));
    let lines = |s: &[&str]| s.iter().map(|l| (*l).to_string()).collect::<Vec<_>>();
    assert!(matches(&lines(&["a", "...", "d"]), &lines(&["a", "b", "c", "d"])).is_ok());
    assert!(matches(&lines(&["a", "d"]), &lines(&["a", "b", "d"])).is_err());
    assert!(matches(&lines(&["a"]), &lines(&["a", "b"])).is_err());
}
