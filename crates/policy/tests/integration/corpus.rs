//! Every exported policy and named location of the corpus in `fixtures/corpus` compiles and
//! evaluates, and the policies read as their names say.

use std::path::PathBuf;

use rewind_model::{Kind, canonicalize, parse_json};
use rewind_policy::{Decision, Directory, Identity, PolicySet, SignIn, Target, Tri};
use serde_json::{Value, json};

fn corpus() -> (Vec<(String, Value)>, Vec<Value>) {
    let corpus = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/corpus");
    let mut policies = Vec::new();
    let mut locations = Vec::new();
    for dir in ["AlexFilipin-ConditionalAccess", "j0eyv-ConditionalAccessBaseline"] {
        let path = corpus.join(dir);
        let entries = std::fs::read_dir(&path)
            .unwrap_or_else(|e| panic!("cannot read the fixture folder {} ({e})", path.display()));
        let mut files: Vec<PathBuf> = entries
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        for file in files {
            let value = parse_json(&std::fs::read(&file).unwrap()).unwrap();
            let name = file.file_name().unwrap().to_string_lossy().to_string();
            match Kind::detect(&value) {
                // As exported (with every `@odata` annotation), and as Rewind stores them
                // (canonical, the key kept apart), which the state loader gives back an id.
                Some(Kind::ConditionalAccessPolicy) => {
                    let mut stored =
                        canonicalize(Kind::ConditionalAccessPolicy, &value).into_value();
                    stored["id"] = value["id"].clone();
                    policies.push((format!("stored {name}"), stored));
                    policies.push((name, value));
                }
                Some(Kind::NamedLocation) => locations.push(value),
                _ => {}
            }
        }
    }
    (policies, locations)
}

#[test]
fn every_corpus_policy_compiles_and_evaluates() {
    let (policies, locations) = corpus();
    assert!(policies.len() >= 50, "found only {} policies", policies.len());
    let values: Vec<Value> = policies.iter().map(|(_, v)| v.clone()).collect();
    let set = PolicySet::compile(&values, &locations, &[]);
    let errors: Vec<String> = set.errors().map(|(_, e)| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert!(set.location_errors.is_empty(), "{:?}", set.location_errors);
    let mut dir = Directory::new();
    dir.add_user(&json!({"id": "u1", "userPrincipalName": "a@contoso.com", "userType": "Member"}));
    for target in [
        Target::App("00000003-0000-0ff1-ce00-000000000000".into()),
        Target::App(rewind_policy::AZURE_PORTAL.into()),
        Target::UserAction(rewind_policy::UserAction::RegisterOrJoinDevices),
        Target::AuthContext("c1".into()),
    ] {
        let s = SignIn::new(Identity::User("u1".into()), target);
        let e = set.evaluate(&dir, &s).unwrap();
        assert_eq!(e.results.len(), policies.len());
    }
}

#[test]
fn corpus_policies_read_as_their_names_say() {
    let (policies, locations) = corpus();
    let find = |prefix: &str| {
        policies
            .iter()
            .find(|(n, _)| n.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix}"))
            .1
            .clone()
    };
    let mut dir = Directory::new();
    dir.add_user(&json!({"id": "u1", "userPrincipalName": "a@contoso.com"}));
    // Legacy authentication is blocked for everyone not excluded.
    let legacy = PolicySet::compile(&[find("CA002-")], &locations, &[]);
    let mut s = SignIn::new(
        Identity::User("u1".into()),
        Target::App("00000002-0000-0ff1-ce00-000000000000".into()),
    );
    s.client_app = Some(rewind_policy::ClientApp::Other);
    let e = legacy.evaluate(&dir, &s).unwrap();
    let state = e.results[0].policy.state;
    let outcome = if state == rewind_policy::State::Enabled { &e.enforced } else { &e.report_only };
    assert_eq!(e.results[0].applies, Tri::Yes);
    assert_eq!(outcome.decision, Decision::Blocked);
    s.client_app = Some(rewind_policy::ClientApp::Browser);
    assert_eq!(legacy.evaluate(&dir, &s).unwrap().results[0].applies, Tri::No);
    // Device code flow is blocked; without the flow given, the policy may apply.
    let flows = PolicySet::compile(&[find("CA004-")], &locations, &[]);
    s.transfer_method = None;
    assert_eq!(flows.evaluate(&dir, &s).unwrap().results[0].applies, Tri::Unknown);
    s.transfer_method = Some(rewind_policy::TransferMethod::DeviceCodeFlow);
    assert_eq!(flows.evaluate(&dir, &s).unwrap().results[0].applies, Tri::Yes);
}
