//! Reading exported trees: EntraExporter's layout, loose files of any encoding PowerShell
//! writes, and a clear problem per bad file.

use std::path::Path;

use rewind_app::import::{SourceFile, read_tree};
use rewind_model::Kind;
use rewind_store::ObjectKey;

fn file(path: &str, text: &str) -> SourceFile {
    SourceFile { path: path.into(), bytes: text.as_bytes().to_vec() }
}

fn utf16le_bom(text: &str) -> Vec<u8> {
    let mut out = vec![0xFF, 0xFE];
    out.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    out
}

#[test]
fn entra_exporter_layout_with_children_folds_into_objects() {
    let tree = read_tree(&[
        file(
            "Identity/Conditional/AccessPolicies/p1/p1.json",
            r#"{"id": "p1", "displayName": "MFA", "state": "enabled", "conditions": {}, "grantControls": {"builtInControls": ["mfa"], "operator": "OR"}}"#,
        ),
        file(
            "Groups/g1/g1.json",
            r#"{"id": "g1", "displayName": "Break glass", "mailNickname": "bg", "groupTypes": []}"#,
        ),
        file("Groups/g1/Members/u1/u1.json", r#"{"id": "u1", "displayName": "BG 1"}"#),
        file("Groups/g1/Owners/u2/u2.json", r#"{"id": "u2"}"#),
        file(
            "Applications/a1/FederatedIdentityCredentials/f1/f1.json",
            r#"{"id": "f1", "name": "deploy", "issuer": "https://x", "subject": "s", "audiences": ["api://AzureADTokenExchange"]}"#,
        ),
        file("Applications/a1/a1.json", r#"{"id": "a1", "appId": "c1", "displayName": "App"}"#),
        file("Applications/a1/ExtensionProperties/e1/e1.json", r#"{"id": "e1"}"#),
        file("Organization/Organization.json", r#"[{"id": "t"}]"#),
        file("Domains/contoso.com/contoso.com.json", r#"{"id": "contoso.com"}"#),
        file(
            "Policies/AuthorizationPolicy/authorizationPolicy/authorizationPolicy.json",
            r#"{"id": "authorizationPolicy", "allowInvitesFrom": "everyone"}"#,
        ),
        file("README.md", "# not json"),
        file(".git/config", "[core]"),
    ]);
    assert!(tree.problems.is_empty(), "{:?}", tree.problems);
    let group = &tree.objects[&ObjectKey::new(Kind::Group, "g1")].0;
    assert_eq!(group.value()["members"], serde_json::json!(["u1"]));
    assert_eq!(group.value()["owners"], serde_json::json!(["u2"]));
    assert!(tree.objects.contains_key(&ObjectKey::new(Kind::FederatedIdentityCredential, "a1/f1")));
    assert!(
        tree.objects
            .contains_key(&ObjectKey::new(Kind::AuthorizationPolicy, "authorizationPolicy"))
    );
    assert_eq!(tree.objects.len(), 5);
    assert_eq!(tree.not_kept.values().sum::<usize>(), 3, "{:?}", tree.not_kept);
}

#[test]
fn every_conditional_access_file_of_the_corpus_is_read() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/corpus");
    let mut files = Vec::new();
    for dir in ["AlexFilipin-ConditionalAccess", "j0eyv-ConditionalAccessBaseline"] {
        let folder = root.join(dir);
        let entries = std::fs::read_dir(&folder).unwrap_or_else(|e| {
            panic!("cannot read the fixture folder {} ({e})", folder.display())
        });
        for e in entries {
            let path = e.unwrap().path();
            files.push(SourceFile {
                path: path.file_name().unwrap().to_string_lossy().into_owned(),
                bytes: std::fs::read(&path).unwrap(),
            });
        }
    }
    let tree = read_tree(&files);
    assert!(tree.problems.is_empty(), "{:?}", tree.problems);
    let policies = tree.objects.keys().filter(|k| k.kind == Kind::ConditionalAccessPolicy).count();
    let locations = tree.kinds.contains(&Kind::NamedLocation);
    assert!(policies >= 20 && locations, "{policies} policies");
}

#[test]
fn bad_files_each_get_a_problem_naming_them() {
    let mut odd = utf16le_bom(r#"{"id": "p9"}"#);
    odd.push(b'x');
    let good_utf16 = SourceFile {
        path: "Identity/Conditional/NamedLocations/l1/l1.json".into(),
        bytes: utf16le_bom(
            r##"{"id": "l1", "displayName": "HQ", "@odata.type": "#microsoft.graph.ipNamedLocation", "ipRanges": []}"##,
        ),
    };
    let mut bom = vec![0xEF, 0xBB, 0xBF];
    bom.extend_from_slice(br#"{"id": "u1", "userPrincipalName": "a@b.c"}"#);
    let tree = read_tree(&[
        good_utf16,
        SourceFile { path: "Users/u1/u1.json".into(), bytes: bom },
        file("Users/u2/u2.json", r#"{"id": "u2", "displayName": "#),
        file("broken.json", "{not json"),
        SourceFile { path: "odd.json".into(), bytes: odd },
        file("mystery.json", r#"{"id": "m1", "colour": "blue"}"#),
        file("copy/u1.json", r#"{"id": "u1", "userPrincipalName": "a@b.c"}"#),
        file("Users/u3/u3.json", r#"["just", "strings"]"#),
        file("Users/u4/u4.json", r#"{"displayName": "no id"}"#),
        file("Groups/g9/Members/u1/u1.json", r#"{"id": "u1"}"#),
    ]);
    let problems: Vec<(String, String)> =
        tree.problems.iter().map(|p| (p.path.clone(), p.problem.clone())).collect();
    let about = |path: &str, words: &str| {
        assert!(
            problems.iter().any(|(p, m)| p == path && m.to_lowercase().contains(words)),
            "{path}: '{words}' in {problems:#?}"
        );
    };
    about("Users/u2/u2.json", "not valid json");
    about("broken.json", "not valid json");
    about("odd.json", "odd number of bytes");
    about("mystery.json", "what kind of object");
    about("copy/u1.json", "duplicate user 'u1'");
    about("Users/u3/u3.json", "not a list of json objects");
    about("Groups/g9/Members/u1/u1.json", "not in the tree");
    assert_eq!(problems.len(), 7, "{problems:#?}");
    assert!(
        tree.objects.contains_key(&ObjectKey::new(Kind::User, "u4")),
        "an object without an id is keyed by its file's name (in EntraExporter's layout, its id)"
    );
    assert!(
        tree.objects.contains_key(&ObjectKey::new(Kind::NamedLocation, "l1")),
        "UTF-16 with a BOM is read"
    );
}
