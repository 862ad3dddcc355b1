//! Ordering a plan's steps: topological over "waits for", with ties broken by phase (restores,
//! creates, updates, credential removals, link changes, deletes, state switches), then kind
//! (creation order; deletes in reverse, referrers first), then key — deterministic.
//!
//! A cycle can only pass through a create's body (links are separate steps by construction):
//! it is broken by creating the object without the properties that name objects not yet
//! created, and patching them in with an update once those exist.

use std::collections::BTreeSet;

use rewind_model::key;
use serde_json::{Map, Value};

use super::plan::{Action, Remap, Step};

/// A step and the steps (by index) it waits for.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub step: Step,
    pub after: Vec<usize>,
}

fn phase(a: Action) -> u8 {
    match a {
        Action::Restore => 0,
        Action::Create => 1,
        Action::Update => 2,
        Action::RemoveCredential => 3,
        Action::AddLink => 4,
        Action::RemoveLink => 5,
        Action::Delete => 6,
        Action::SwitchState => 7,
    }
}

type Priority = (u8, usize, String, usize);

fn priority(nodes: &[Node], i: usize) -> Priority {
    let s = &nodes[i].step;
    let rank = s.kind.rank();
    let rank = if s.action == Action::Delete { usize::MAX - rank } else { rank };
    (phase(s.action), rank, s.id.clone(), i)
}

/// Orders `nodes`, numbers the steps from 1 and fills `depends_on`.
pub(crate) fn order(mut nodes: Vec<Node>) -> Vec<Step> {
    let mut placed: Vec<Option<usize>> = vec![None; nodes.len()];
    let mut sequence: Vec<usize> = Vec::with_capacity(nodes.len());
    let mut waiting: Vec<usize> = nodes.iter().map(|n| n.after.len()).collect();
    let mut dependants: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
    for (i, n) in nodes.iter().enumerate() {
        for &a in &n.after {
            dependants[a].push(i);
        }
    }
    let mut ready: BTreeSet<Priority> =
        (0..nodes.len()).filter(|&i| waiting[i] == 0).map(|i| priority(&nodes, i)).collect();
    while sequence.len() < nodes.len() {
        let Some(next) = ready.pop_first() else {
            let stuck = break_cycle(&mut nodes, &placed, &mut waiting, &mut dependants);
            ready.insert(priority(&nodes, stuck));
            placed.resize(nodes.len(), None);
            continue;
        };
        let i = next.3;
        placed[i] = Some(sequence.len());
        sequence.push(i);
        for &d in &dependants[i] {
            waiting[d] -= 1;
            if waiting[d] == 0 && placed[d].is_none() {
                ready.insert(priority(&nodes, d));
            }
        }
    }
    sequence
        .iter()
        .map(|&i| {
            let mut step = nodes[i].step.clone();
            step.n = placed[i].unwrap_or(0) + 1;
            let mut deps: Vec<usize> =
                nodes[i].after.iter().filter_map(|&a| placed[a].map(|p| p + 1)).collect();
            deps.sort_unstable();
            deps.dedup();
            step.depends_on = deps;
            step
        })
        .collect()
}

/// Breaks a cycle among the unplaced nodes: the first create (by priority) among them is made
/// ready by moving the properties that name unplaced objects into a new update that waits for
/// them. Returns the node made ready.
fn break_cycle(
    nodes: &mut Vec<Node>,
    placed: &[Option<usize>],
    waiting: &mut Vec<usize>,
    dependants: &mut Vec<Vec<usize>>,
) -> usize {
    let unplaced = |i: usize| placed.get(i).copied().flatten().is_none();
    let m = (0..nodes.len())
        .filter(|&i| unplaced(i) && waiting[i] > 0)
        .min_by_key(|&i| (nodes[i].step.action != Action::Create, priority(nodes, i)))
        .unwrap_or(0);
    let blocking: Vec<usize> = nodes[m].after.iter().copied().filter(|&a| unplaced(a)).collect();
    let blocking_ids: BTreeSet<String> =
        blocking.iter().map(|&a| key::own_id(&nodes[a].step.id).to_string()).collect();
    let step = &mut nodes[m].step;
    let (moved, kept): (Vec<Remap>, Vec<Remap>) =
        std::mem::take(&mut step.remaps).into_iter().partition(|r| blocking_ids.contains(&r.from));
    step.remaps = kept;
    let properties: BTreeSet<String> =
        moved.iter().map(|r| top_property(&r.path).to_string()).collect();
    let mut patch = Map::new();
    if let Some(Value::Object(body)) = step.body.as_mut() {
        for p in &properties {
            if let Some(v) = body.shift_remove(p) {
                patch.insert(p.clone(), v);
            }
        }
        step.remaps.retain(|r| !properties.contains(top_property(&r.path)));
    }
    let mut update = step.clone();
    update.action = Action::Update;
    update.reason =
        format!("{}; these references are patched in once what they name exists", step.reason);
    update.body = Some(Value::Object(patch));
    update.remaps = moved;
    update.changes = Vec::new();
    nodes[m].after.retain(|a| !blocking.contains(a));
    waiting[m] = nodes[m].after.iter().filter(|&&a| unplaced(a)).count();
    let u = nodes.len();
    let mut after = blocking.clone();
    after.push(m);
    for &a in &after {
        dependants[a].push(u);
    }
    for &b in &blocking {
        dependants[b].retain(|&d| d != m);
    }
    waiting.push(after.len());
    dependants.push(Vec::new());
    nodes.push(Node { step: update, after });
    m
}

fn top_property(path: &str) -> &str {
    path.split(['.', '[']).next().unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use rewind_model::Kind;
    use serde_json::json;

    use super::*;
    use crate::restore::plan::Remap;

    fn create(id: &str, names: &str) -> Step {
        Step {
            n: 0,
            action: Action::Create,
            kind: Kind::AdministrativeUnit,
            id: id.into(),
            display_name: None,
            reason: "test".into(),
            depends_on: Vec::new(),
            body: Some(json!({"displayName": id, "partner": names})),
            changes: Vec::new(),
            link: None,
            key_id: None,
            remaps: vec![Remap {
                path: "partner".into(),
                from: names.into(),
                kind: Kind::AdministrativeUnit,
            }],
        }
    }

    #[test]
    fn a_cycle_is_broken_by_creating_without_the_reference_and_patching_it_in() {
        let nodes = vec![
            Node { step: create("a", "b"), after: vec![1] },
            Node { step: create("b", "a"), after: vec![0] },
        ];
        let steps = order(nodes);
        let shape: Vec<(Action, &str)> = steps.iter().map(|s| (s.action, s.id.as_str())).collect();
        assert_eq!(
            shape,
            vec![(Action::Create, "a"), (Action::Create, "b"), (Action::Update, "a")]
        );
        assert_eq!(steps[0].body, Some(json!({"displayName": "a"})), "created without it");
        assert!(steps[0].remaps.is_empty());
        assert_eq!(steps[1].depends_on, vec![1]);
        assert_eq!(steps[2].body, Some(json!({"partner": "b"})), "patched in");
        assert_eq!(steps[2].depends_on, vec![1, 2]);
        assert_eq!(steps[2].remaps[0].from, "b");
    }
}
