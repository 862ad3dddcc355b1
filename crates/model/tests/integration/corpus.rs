//! Every exported CA policy, named location and group of the corpus in `fixtures/corpus` parses,
//! is recognised, and round-trips.

use std::path::PathBuf;

use rewind_model::{Kind, canonicalize, parse_json, references};

fn corpus_files() -> Vec<PathBuf> {
    let corpus = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/corpus");
    let mut files = Vec::new();
    for dir in ["AlexFilipin-ConditionalAccess", "j0eyv-ConditionalAccessBaseline"] {
        let path = corpus.join(dir);
        let entries = std::fs::read_dir(&path)
            .unwrap_or_else(|e| panic!("cannot read the fixture folder {} ({e})", path.display()));
        files.extend(
            entries
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|x| x == "json")),
        );
    }
    files.sort();
    files
}

#[test]
fn every_corpus_file_parses_is_recognised_and_round_trips() {
    let files = corpus_files();
    assert!(files.len() >= 30, "found only {} corpus files", files.len());
    let mut kinds = std::collections::BTreeMap::new();
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        let value = parse_json(&bytes).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let kind = Kind::detect(&value)
            .unwrap_or_else(|| panic!("{}: kind not recognised", file.display()));
        *kinds.entry(kind).or_insert(0) += 1;
        let canonical = canonicalize(kind, &value);
        let again = canonicalize(kind, canonical.value());
        assert_eq!(canonical.bytes(), again.bytes(), "{}: not idempotent", file.display());
        let text = String::from_utf8(canonical.bytes().to_vec()).unwrap();
        assert!(
            !text.contains("@odata.context")
                && !text.contains("modifiedDateTime")
                && !text.contains("#microsoft.graph.restore"),
            "{}",
            file.display()
        );
        let reparsed = parse_json(canonical.bytes()).unwrap();
        assert_eq!(&reparsed, canonical.value(), "{}: bytes and value disagree", file.display());
        if kind == Kind::ConditionalAccessPolicy {
            let refs = references(kind, canonical.value());
            assert!(refs.iter().all(|r| !r.id.is_empty()), "{}", file.display());
        }
    }
    assert_eq!(kinds.get(&Kind::ConditionalAccessPolicy), Some(&28), "{kinds:?}");
    assert_eq!(kinds.get(&Kind::NamedLocation), Some(&3));
    assert_eq!(kinds.get(&Kind::Group), Some(&2));
}

#[test]
fn the_exported_strength_shrinks_to_its_id() {
    let file = corpus_files().into_iter().find(|f| f.to_string_lossy().contains("CA105")).unwrap();
    let value = parse_json(&std::fs::read(file).unwrap()).unwrap();
    assert!(
        value["grantControls"]["authenticationStrength"]["displayName"].is_string(),
        "the export has it expanded"
    );
    let c = canonicalize(Kind::ConditionalAccessPolicy, &value);
    let strength = c.value()["grantControls"]["authenticationStrength"].as_object().unwrap();
    assert_eq!(strength.keys().collect::<Vec<_>>(), ["id"]);
}
