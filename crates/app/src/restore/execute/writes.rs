//! Object steps as Graph requests: sending one write (paced, retried through replication lag),
//! creating anew (looked for first when an earlier attempt may have been applied), and the
//! facts those need (a new user's password, an application's own identifier URIs).

use std::time::Duration;

use rand::Rng as _;
use rewind_engine::restore::{Action, Step, follow_app_id};
use rewind_model::{Kind, key};
use rewind_msgraph::ClientError;
use serde_json::{Value, json};

use super::{Failure, Run, StepStatus};
use crate::restore::graph::{
    ELIGIBILITY_REQUESTS, create_path, created_key, eligibility_request, find_existing,
    is_invitation, item_path, restore_path,
};

impl Run<'_> {
    pub(super) async fn attempt(
        &self,
        step: &Step,
        resumed: bool,
    ) -> Result<(StepStatus, Option<String>), Failure> {
        use reqwest::Method;
        let key = self.now_key(&step.id);
        let done = Ok((StepStatus::Done, None));
        match step.action {
            Action::Restore => {
                let path = restore_path(step.kind, &key).ok_or(Failure::Unsupported)?;
                match self.send(step.kind, Method::POST, &path, None).await {
                    Err(Failure::Graph(ClientError::Graph(f))) if f.status == 404 => {
                        // Restored by an earlier run whose journal entry was lost?
                        self.pace(step.kind).await;
                        match self.client.get(&item_path(step.kind, &key)).await {
                            Ok(_) => Ok((StepStatus::AlreadyDone, None)),
                            Err(_) => Err(Failure::Graph(ClientError::Graph(f))),
                        }
                    }
                    Err(e) => Err(e),
                    Ok(_) => done,
                }
            }
            Action::Create => self.create(step, resumed).await,
            Action::Update if step.kind == Kind::AuthenticationStrengthPolicy => {
                let body = self.body(step).await?;
                self.update_strength(&key, body).await?;
                done
            }
            Action::Update | Action::SwitchState => {
                let body = self.body(step).await?;
                self.send(step.kind, Method::PATCH, &item_path(step.kind, &key), Some(&body))
                    .await?;
                done
            }
            Action::Delete if step.kind == Kind::RoleEligibilitySchedule => {
                let body = eligibility_request("adminRemove", &self.body(step).await?);
                match self.send(step.kind, Method::POST, ELIGIBILITY_REQUESTS, Some(&body)).await {
                    Err(Failure::Graph(ClientError::Graph(f)))
                        if f.details.iter().any(|d| d == "RoleAssignmentDoesNotExist") =>
                    {
                        Ok((StepStatus::AlreadyDone, None))
                    }
                    other => other.map(|_| (StepStatus::Done, None)),
                }
            }
            Action::Delete => {
                match self.send(step.kind, Method::DELETE, &item_path(step.kind, &key), None).await
                {
                    Err(Failure::Graph(ClientError::Graph(f))) if f.status == 404 => {
                        Ok((StepStatus::AlreadyDone, None))
                    }
                    other => other.map(|_| (StepStatus::Done, None)),
                }
            }
            Action::RemoveCredential => {
                let body = json!({"keyId": step.key_id});
                let path = format!("{}/removePassword", item_path(step.kind, &key));
                match self.send(step.kind, Method::POST, &path, Some(&body)).await {
                    Err(Failure::Graph(ClientError::Graph(f)))
                        if f.status == 400 && f.message.contains("No password credential") =>
                    {
                        Ok((StepStatus::AlreadyDone, None))
                    }
                    other => other.map(|_| (StepStatus::Done, None)),
                }
            }
            Action::AddLink | Action::RemoveLink => Err(Failure::Unsupported),
        }
    }

    /// An authentication strength's combinations change only through its
    /// `updateAllowedCombinations` action; a `PATCH` takes its name and description alone
    /// (authenticationstrengthpolicy-update.md, -updateallowedcombinations.md). A widened
    /// administrators' strength is narrowed back this way.
    async fn update_strength(&self, key: &str, mut body: Value) -> Result<(), Failure> {
        use reqwest::Method;
        let kind = Kind::AuthenticationStrengthPolicy;
        let combinations = body.as_object_mut().and_then(|b| b.shift_remove("allowedCombinations"));
        if body.as_object().is_some_and(|b| !b.is_empty()) {
            self.send(kind, Method::PATCH, &item_path(kind, key), Some(&body)).await?;
        }
        if let Some(combinations) = combinations {
            let path = format!("{}/updateAllowedCombinations", item_path(kind, key));
            let body = json!({ "allowedCombinations": combinations });
            self.send(kind, Method::POST, &path, Some(&body)).await?;
        }
        Ok(())
    }

    async fn create(
        &self,
        step: &Step,
        resumed: bool,
    ) -> Result<(StepStatus, Option<String>), Failure> {
        let mut body = self.body(step).await?;
        let parent = key::split(&step.id).0.map(|p| self.now_id(p).to_string());
        let path = create_path(step.kind, parent.as_deref(), &body).ok_or(Failure::Unsupported)?;
        if resumed {
            self.pace(step.kind).await;
            if let Some(found) = find_existing(self.client, step.kind, &path, &body).await? {
                let key = created_key(step.kind, parent.as_deref(), &body, &found);
                return Ok((StepStatus::AlreadyDone, key));
            }
        }
        if step.kind == Kind::User
            && !is_invitation(&body)
            && let Some(o) = body.as_object_mut()
        {
            o.insert(
                "passwordProfile".into(),
                json!({"forceChangePasswordNextSignIn": true, "password": random_password()}),
            );
        }
        let old_app_id = self.app_ids.get(&step.id).filter(|_| step.kind == Kind::Application);
        let own_uris = old_app_id.and_then(|old| take_own_uris(&mut body, old));
        let sent = if step.kind == Kind::RoleEligibilitySchedule {
            eligibility_request("adminAssign", &body)
        } else {
            body.clone()
        };
        let created = self.create_once(step.kind, &path, &sent).await?;
        let key = created_key(step.kind, parent.as_deref(), &body, &created).ok_or_else(|| {
            Failure::Remap(format!("Graph created {} but returned no id", step.kind))
        })?;
        if let (Some(old), Some(new)) = (old_app_id, created.get("appId").and_then(Value::as_str)) {
            self.learn_app_id(old, new);
            if let Some(uris) = own_uris {
                // The application's own api://{appId} URIs name its new appId, which only
                // exists now (Graph refuses another application's: identifier-uri-restrictions.md).
                let mut body = json!({ "identifierUris": uris });
                follow_app_id(step.kind, &mut body, old, new);
                self.send(
                    step.kind,
                    reqwest::Method::PATCH,
                    &item_path(step.kind, &key),
                    Some(&body),
                )
                .await?;
            }
        }
        Ok((StepStatus::Done, Some(key)))
    }

    /// Creates an object exactly once. Graph may apply a create and still answer 5xx (or the
    /// connection may drop after it), so after such a failure the object is looked for by its
    /// identifying properties before the create is sent again.
    async fn create_once(&self, kind: Kind, path: &str, body: &Value) -> Result<Value, Failure> {
        let mut wait = Duration::from_millis(500);
        let mut attempt = 1;
        loop {
            self.pace(kind).await;
            match self.client.create(path, body).await {
                Ok((_, created)) => return Ok(created),
                Err(e) if maybe_applied(&e) && attempt < CREATE_ATTEMPTS => {
                    tracing::debug!(%path, error = %e, "a create may have been applied; looking");
                    tokio::time::sleep(wait).await;
                    wait *= 2;
                    attempt += 1;
                    self.pace(kind).await;
                    if let Some(found) = find_existing(self.client, kind, path, body).await? {
                        return Ok(found);
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
}

/// Takes an application's identifier URIs out of its create body when any names its old appId
/// (`api://{appId}`): returns them all, to be written once the new appId is known.
fn take_own_uris(body: &mut Value, old_app_id: &str) -> Option<Vec<String>> {
    let uris: Vec<String> = body
        .get("identifierUris")?
        .as_array()?
        .iter()
        .filter_map(|u| u.as_str().map(str::to_string))
        .collect();
    if !uris.iter().any(|u| u.contains(old_app_id)) {
        return None;
    }
    body.as_object_mut()?.shift_remove("identifierUris");
    Some(uris)
}

/// How many times a create that may have been applied is looked for and sent again.
const CREATE_ATTEMPTS: u32 = 5;

/// Whether Graph may have applied a request that failed this way: a server error, or no
/// answer at all. (A 429 was not applied; the client retries those itself.)
fn maybe_applied(e: &ClientError) -> bool {
    match e {
        ClientError::Graph(f) => f.status >= 500,
        ClientError::Unreachable { .. } => true,
        _ => false,
    }
}

/// Whether a failure is replication lag: a 404 for an object not replicated yet, or a 400
/// that names an object this restore just created (Graph answers so when a body references
/// a principal that has not replicated; graph-api.md §6.5) or says the application behind a
/// new service principal is not there yet (`NoBackingApplicationObject`).
pub(super) fn is_lag(f: &rewind_msgraph::protocol::GraphFailure, created: &[&String]) -> bool {
    f.status == 404
        || (f.status == 400
            && (f.details.iter().any(|d| d == "NoBackingApplicationObject")
                || created.iter().any(|id| f.message.contains(id.as_str()))))
}

/// A password for a user created anew: 24 characters with every class Entra requires, never
/// stored or shown; the user must change it at next sign-in.
fn random_password() -> String {
    const CLASSES: [&[u8]; 4] =
        [b"ABCDEFGHJKLMNPQRSTUVWXYZ", b"abcdefghijkmnopqrstuvwxyz", b"23456789", b"!#$%*+-=?@^_"];
    let mut rng = rand::rng();
    let mut out: Vec<u8> = CLASSES.iter().map(|c| c[rng.random_range(0..c.len())]).collect();
    while out.len() < 24 {
        let class = CLASSES[rng.random_range(0..CLASSES.len())];
        out.push(class[rng.random_range(0..class.len())]);
    }
    for i in (1..out.len()).rev() {
        out.swap(i, rng.random_range(0..=i));
    }
    String::from_utf8_lossy(&out).into_owned()
}
