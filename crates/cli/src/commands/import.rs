//! `rewind import PATH… [--taken-at T]` and `rewind import --git REPO`: exported trees (and git
//! histories of them) into the timeline. Directory walking and git reading live here; what a
//! tree means is `rewind_app::import`.

use std::collections::{BTreeSet, HashMap};
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::Context as _;
use jiff::Timestamp;
use rewind_app::import::{
    ImportError, ImportOptions, ImportReport, ImportedSnapshot, SourceFile, Tree, import_tree,
    read_tree,
};
use rewind_model::Kind;
use rewind_store::{SnapshotInfo, TenantInfo};

use super::session::{Session, usage};
use crate::cli::ImportArgs;
use crate::output::{self, outln};
use crate::text::count;

pub async fn run(args: ImportArgs) -> anyhow::Result<()> {
    let session = Session::open_or_create(&args.store, None).await?;
    let tenant = match session.find_tenant().await? {
        Some(t) => t,
        None => add_tenant(&session).await?,
    };
    let imported = if args.git {
        from_git(&session, &tenant, &args).await?
    } else {
        let mut files = Vec::new();
        for p in &args.paths {
            read_path(p, &mut files)?;
        }
        let tree = read_tree(&files);
        let kinds = tree.kinds.clone();
        let taken_at = args.taken_at.unwrap_or_else(Timestamp::now);
        let options = ImportOptions { replace_kinds: args.replace_kinds, commit: None };
        let s = store_tree(&session, &tenant, &tree, &kinds, taken_at, &options).await?;
        vec![(s, tree, None)]
    };
    session.store.close().await;
    report(&args, &imported)?;
    Ok(())
}

/// Stores one tree, mapping import errors to exit codes.
async fn store_tree(
    session: &Session,
    tenant: &TenantInfo,
    tree: &Tree,
    kinds: &BTreeSet<Kind>,
    taken_at: Timestamp,
    options: &ImportOptions,
) -> anyhow::Result<SnapshotInfo> {
    import_tree(&session.store, tenant, tree, kinds, taken_at, options).await.map_err(|e| match e {
        ImportError::Store(s) => anyhow::Error::new(s),
        other => usage(other),
    })
}

fn report(
    args: &ImportArgs,
    imported: &[(SnapshotInfo, Tree, Option<String>)],
) -> anyhow::Result<()> {
    if args.store.json {
        let imported = imported
            .iter()
            .map(|(s, t, commit)| ImportedSnapshot::new(s, t, commit.clone()))
            .collect();
        return output::json(&ImportReport { imported });
    }
    for (s, t, commit) in imported {
        let c = s.totals();
        let from = commit
            .as_deref()
            .map(|c| format!(" from commit {}", &c[..c.len().min(12)]))
            .unwrap_or_default();
        outln!(
            "snapshot {} at {}{from}: {} ({} created, {} updated, {} deleted)",
            s.id,
            s.taken_at,
            count(s.objects, "object", "objects"),
            c.created,
            c.updated,
            c.deleted
        )?;
        if !t.not_kept.is_empty() {
            let skipped: Vec<String> =
                t.not_kept.iter().map(|(d, n)| format!("{d} ({n})")).collect();
            outln!("  not kept by Rewind, skipped: {}", skipped.join(", "))?;
        }
    }
    if imported.is_empty() {
        outln!("nothing to import: every commit is already in the timeline")?;
    }
    Ok(())
}

/// A store without the tenant: importing names it (`REWIND_TENANT_ID`, or `--tenant`).
async fn add_tenant(session: &Session) -> anyhow::Result<TenantInfo> {
    let new = session.raw.import_tenant().ok_or_else(|| {
        usage("the store has no tenant to import into: give REWIND_TENANT_ID (or --tenant NAME)")
    })?;
    Ok(session.store.add_tenant(&new).await?)
}

/// Reads a file, or every file under a directory, with paths relative to it.
fn read_path(root: &Path, out: &mut Vec<SourceFile>) -> anyhow::Result<()> {
    let meta = std::fs::metadata(root).map_err(|e| usage(format!("{}: {e}", root.display())))?;
    if meta.is_file() {
        let name = root.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        out.push(SourceFile {
            path: name,
            bytes: std::fs::read(root).with_context(|| format!("reading {}", root.display()))?,
        });
        return Ok(());
    }
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let mut entries: Vec<_> = std::fs::read_dir(&dir)
            .with_context(|| format!("reading {}", dir.display()))?
            .collect::<Result<_, _>>()?;
        entries.sort_by_key(std::fs::DirEntry::path);
        for e in entries {
            let path = e.path();
            if e.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            if e.file_type()?.is_dir() {
                stack.push(path);
            } else {
                let rel = path
                    .strip_prefix(root)
                    .unwrap_or(&path)
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join("/");
                out.push(SourceFile {
                    path: rel,
                    bytes: std::fs::read(&path)
                        .with_context(|| format!("reading {}", path.display()))?,
                });
            }
        }
    }
    Ok(())
}

/// One snapshot per commit of the first-parent history of HEAD, at the commit's time (git
/// keeps seconds: commits that share one, or whose clocks went back, are spaced a microsecond
/// after the previous snapshot, so none is skipped). The last commit imported is kept with its
/// snapshot; a later run goes on after it. The kinds a commit covers are those seen in it or
/// any commit before it.
async fn from_git(
    session: &Session,
    tenant: &TenantInfo,
    args: &ImportArgs,
) -> anyhow::Result<Vec<(SnapshotInfo, Tree, Option<String>)>> {
    let [repo] = args.paths.as_slice() else {
        return Err(usage("--git takes one repository"));
    };
    let mut latest = session.store.latest(tenant).await?.map(|s| s.taken_at);
    let first_run_latest = latest;
    let log = git(repo, &["log", "--reverse", "--first-parent", "--format=%H %cI", "HEAD"])?;
    let commits: Vec<(&str, &str)> = log.lines().filter_map(|l| l.split_once(' ')).collect();
    let done = match session.store.import_mark(tenant).await? {
        Some(mark) => Some(commits.iter().position(|(c, _)| *c == mark).ok_or_else(|| {
            usage(format!(
                "this history does not hold commit {mark}, the last one imported before; \
                         it was rewritten: import it into a store of its own"
            ))
        })?),
        None => None,
    };
    let mut reader = CatFile::start(repo)?;
    let mut kinds = BTreeSet::new();
    let mut cache: HashMap<String, Vec<u8>> = HashMap::new();
    let mut out = Vec::new();
    for (i, (commit, time)) in commits.iter().enumerate() {
        let files = reader.tree(repo, commit, &mut cache)?;
        let tree = read_tree(&files);
        kinds.extend(tree.kinds.iter().copied());
        let mut taken_at: Timestamp =
            time.parse().with_context(|| format!("commit {commit} has the time '{time}'"))?;
        // Without a mark (a timeline imported before marks were kept, or a first run), what is
        // not after the latest snapshot is taken as imported.
        let imported = match done {
            Some(d) => i <= d,
            None => first_run_latest.is_some_and(|l| taken_at <= l),
        };
        if imported || (tree.objects.is_empty() && tree.problems.is_empty()) {
            continue;
        }
        if let Some(l) = latest.filter(|l| taken_at <= *l) {
            taken_at = l + jiff::SignedDuration::from_micros(1);
        }
        let options = ImportOptions {
            replace_kinds: args.replace_kinds,
            commit: Some((*commit).to_string()),
        };
        let s = store_tree(session, tenant, &tree, &kinds, taken_at, &options)
            .await
            .with_context(|| format!("commit {commit} ({time})"))?;
        latest = Some(s.taken_at);
        out.push((s, tree, Some((*commit).to_string())));
    }
    Ok(out)
}

fn git(repo: &Path, args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(args)
        .output()
        .map_err(|e| usage(format!("cannot run git: {e}")))?;
    if !out.status.success() {
        return Err(usage(format!(
            "{} is not a git repository with commits: {}",
            repo.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A `git cat-file --batch` process reading blobs by id.
struct CatFile {
    child: std::process::Child,
    out: BufReader<std::process::ChildStdout>,
}

impl CatFile {
    fn start(repo: &Path) -> anyhow::Result<CatFile> {
        let mut child = Command::new("git")
            .arg("-C")
            .arg(repo)
            .args(["cat-file", "--batch"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| usage(format!("cannot run git: {e}")))?;
        let out = BufReader::new(child.stdout.take().context("git cat-file's output")?);
        Ok(CatFile { child, out })
    }

    fn blob(&mut self, id: &str) -> anyhow::Result<Vec<u8>> {
        let stdin = self.child.stdin.as_mut().context("git cat-file's input")?;
        writeln!(stdin, "{id}")?;
        stdin.flush()?;
        let mut header = String::new();
        self.out.read_line(&mut header)?;
        let size: usize = header
            .split_whitespace()
            .nth(2)
            .and_then(|s| s.parse().ok())
            .with_context(|| format!("git cat-file answered '{}'", header.trim()))?;
        let mut bytes = vec![0; size + 1];
        self.out.read_exact(&mut bytes)?;
        bytes.pop();
        Ok(bytes)
    }

    /// The JSON files of a commit, blobs read once across commits.
    fn tree(
        &mut self,
        repo: &Path,
        commit: &str,
        cache: &mut HashMap<String, Vec<u8>>,
    ) -> anyhow::Result<Vec<SourceFile>> {
        let listing = git(repo, &["ls-tree", "-r", "-z", "--full-tree", commit])?;
        let mut files = Vec::new();
        let mut seen = HashMap::new();
        for entry in listing.split('\0').filter(|e| !e.is_empty()) {
            let Some((meta, path)) = entry.split_once('\t') else {
                continue;
            };
            let mut m = meta.split_whitespace();
            let (Some(_mode), Some("blob"), Some(id)) = (m.next(), m.next(), m.next()) else {
                continue;
            };
            if !Path::new(path).extension().is_some_and(|e| e.eq_ignore_ascii_case("json")) {
                continue;
            }
            let bytes = match cache.remove(id) {
                Some(b) => b,
                None => self.blob(id)?,
            };
            seen.insert(id.to_string(), bytes.clone());
            files.push(SourceFile { path: path.to_string(), bytes });
        }
        // Keep only this commit's blobs: the next commit shares most of them.
        *cache = seen;
        Ok(files)
    }
}

impl Drop for CatFile {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}
