//! `rewind doctor`: what this app registration can do in this tenant, asked of Graph the way
//! capture and restore ask it, each missing piece with its fix — before a first capture fails
//! half-way, or a restore at 3 a.m. finds it cannot write.

use std::collections::BTreeSet;

use rewind_engine::restore::{Action, DirectoryRole, needed};
use rewind_model::Kind;
use rewind_msgraph::{ClientError, GraphClient};
use serde::Serialize;

use crate::capture::read_permission;

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Everything needed is there.
    Ok,
    /// Something Rewind needs is missing: the finding says what to do.
    Missing,
    /// The tenant does not have it (a licence): Rewind works without it, and says what it
    /// leaves out.
    Unavailable,
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// What was checked (`read app`, `audit log`, `write app`, …).
    pub check: String,
    /// How it came out.
    pub status: Status,
    /// What was found.
    pub detail: String,
    /// What to do, when something is missing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Finding {
    fn ok(check: &str, detail: impl Into<String>) -> Finding {
        Finding { check: check.into(), status: Status::Ok, detail: detail.into(), fix: None }
    }

    fn missing(check: &str, detail: impl Into<String>, fix: impl Into<String>) -> Finding {
        Finding {
            check: check.into(),
            status: Status::Missing,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }
}

/// Everything `doctor` found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The findings, in the order checked.
    pub findings: Vec<Finding>,
}

impl Report {
    /// Whether everything Rewind needs is there (a licence the tenant lacks is not needed).
    pub fn ready(&self) -> bool {
        self.findings.iter().all(|f| f.status != Status::Missing)
    }
}

/// Why the directory roles of an app could not be read, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolesUnreadable {
    /// What went wrong.
    pub detail: String,
    /// What to do.
    pub fix: String,
}

/// The service principal of the app `client_id` in this tenant and the directory roles (role
/// definition ids) it holds tenant-wide, read with the read app.
pub async fn directory_roles_of(
    read: &GraphClient,
    client_id: &str,
) -> Result<(String, BTreeSet<String>), RolesUnreadable> {
    let unreadable = |detail: String, fix: &str| RolesUnreadable { detail, fix: fix.to_string() };
    let sp = read
        .get(&format!("/servicePrincipals(appId='{client_id}')?$select=id"))
        .await
        .map_err(|e| {
            unreadable(
                format!("its service principal could not be read: {e}"),
                "grant the read app Application.Read.All, with admin consent",
            )
        })?;
    let Some(sp) = sp["id"].as_str().map(str::to_string) else {
        return Err(unreadable(
            "the app has no service principal in this tenant".into(),
            "consent to the write app in this tenant (an administrator signs in to its admin consent URL)",
        ));
    };
    let held = read
        .list(&format!("/roleManagement/directory/roleAssignments?$filter=principalId eq '{sp}'"))
        .await
        .map_err(|e| {
            unreadable(
                format!("its role assignments could not be read: {e}"),
                "grant the read app RoleManagement.Read.Directory, with admin consent",
            )
        })?
        .iter()
        .filter(|a| a["directoryScopeId"].as_str().is_none_or(|s| s == "/"))
        .filter_map(|a| a["roleDefinitionId"].as_str().map(str::to_string))
        .collect();
    Ok((sp, held))
}

/// Checks the read app (`read`) and, when given, the app restore writes with (`write`, with
/// whether it is an app of its own).
pub async fn doctor(read: &GraphClient, write: Option<(&GraphClient, bool)>) -> Report {
    let mut findings = Vec::new();
    let Some(granted) = sign_in(read, "read app", "REWIND_CLIENT_ID", &mut findings).await else {
        return Report { findings };
    };
    findings.extend(read_permissions(granted.as_deref()));
    findings.push(audit(read).await);
    findings.push(license(read).await);
    if let Some((writer, separate)) = write {
        let (label, var) = if separate {
            ("write app", "REWIND_WRITE_CLIENT_ID")
        } else {
            ("write app (the capture app: REWIND_WRITE_CLIENT_ID is not set)", "REWIND_CLIENT_ID")
        };
        if let Some(granted) = sign_in(writer, label, var, &mut findings).await {
            findings.push(write_permissions(label, granted.as_deref()));
            findings.extend(write_roles(read, writer, label).await);
        }
    }
    Report { findings }
}

/// Signs in; `None` (with a finding) when that fails.
async fn sign_in(
    client: &GraphClient,
    label: &str,
    var: &str,
    findings: &mut Vec<Finding>,
) -> Option<Option<Vec<String>>> {
    match client.granted_roles().await {
        Ok(granted) => {
            findings.push(Finding::ok(label, format!("signs in as {}", client.client_id())));
            Some(granted)
        }
        Err(e) => {
            findings.push(Finding::missing(
                label,
                format!("cannot sign in: {e}"),
                format!("check REWIND_TENANT_ID, {var} and its secret or certificate"),
            ));
            None
        }
    }
}

/// Whether `granted` holds `permission` or one that includes it.
fn holds(granted: &[String], permission: &str) -> bool {
    let wider = permission.replace(".Read.", ".ReadWrite.");
    granted.iter().any(|g| *g == permission || *g == wider)
}

fn read_permissions(granted: Option<&[String]>) -> Vec<Finding> {
    let Some(granted) = granted else {
        return vec![Finding::ok(
            "read permissions",
            "the token does not list its permissions; capture will name any that is missing",
        )];
    };
    let needed: BTreeSet<&str> = Kind::ALL.into_iter().map(read_permission).collect();
    let lacking: Vec<&str> = needed.iter().copied().filter(|p| !holds(granted, p)).collect();
    let kinds = |p: &str| {
        Kind::ALL
            .into_iter()
            .filter(|k| read_permission(*k) == p)
            .map(Kind::name)
            .collect::<Vec<_>>()
            .join(", ")
    };
    if lacking.is_empty() {
        return vec![Finding::ok(
            "read permissions",
            format!(
                "every kind can be read ({})",
                needed.into_iter().collect::<Vec<_>>().join(", ")
            ),
        )];
    }
    lacking
        .into_iter()
        .map(|p| {
            Finding::missing(
                "read permissions",
                format!("{p} is not granted: capture cannot read {}", kinds(p)),
                format!("grant the read app the application permission {p}, with admin consent"),
            )
        })
        .collect()
}

async fn audit(read: &GraphClient) -> Finding {
    match read.page("/auditLogs/directoryAudits?$top=1", 1).await {
        Ok(_) => Finding::ok("audit log", "readable: changes are attributed to who made them"),
        Err(e) if is_license(&e) => Finding {
            check: "audit log".into(),
            status: Status::Unavailable,
            detail: format!(
                "the tenant's licence does not include it ({e}); changes are stored without attribution"
            ),
            fix: None,
        },
        Err(e) => Finding::missing(
            "audit log",
            format!("not readable ({e}): changes would be stored without attribution"),
            "grant the read app AuditLog.Read.All, with admin consent",
        ),
    }
}

async fn license(read: &GraphClient) -> Finding {
    match read
        .page("/roleManagement/directory/roleEligibilitySchedules?$top=1", 1)
        .await
    {
        Ok(_) => Finding::ok("licence", "PIM can be read (Entra ID P2 or ID Governance)"),
        Err(e) if is_license(&e) => Finding {
            check: "licence".into(),
            status: Status::Unavailable,
            detail: "no Entra ID P2 or ID Governance: PIM eligibilities are not captured (each snapshot marks them unavailable); everything else is".into(),
            fix: None,
        },
        Err(e) => Finding::missing(
            "licence",
            format!("PIM could not be read: {e}"),
            "grant the read app RoleEligibilitySchedule.Read.Directory, with admin consent",
        ),
    }
}

fn is_license(e: &ClientError) -> bool {
    crate::capture::unavailable_in_tenant(e)
}

fn write_permissions(label: &str, granted: Option<&[String]>) -> Finding {
    let Some(granted) = granted else {
        return Finding::ok(
            label,
            "the token does not list its permissions; restore will name any that is missing",
        );
    };
    let actions = [
        Action::Create,
        Action::Update,
        Action::Delete,
        Action::Restore,
        Action::AddLink,
        Action::RemoveLink,
    ];
    let mut lacking: Vec<&str> = Kind::ALL
        .into_iter()
        .flat_map(|k| actions.iter().flat_map(move |a| needed(k, *a).iter()))
        .filter(|any| !any.iter().any(|p| granted.iter().any(|g| g == p)))
        .map(|any| any[0])
        .collect();
    lacking.sort_unstable();
    lacking.dedup();
    if lacking.is_empty() {
        Finding::ok(label, "holds every permission a restore of any kind needs")
    } else {
        Finding::missing(
            label,
            format!(
                "lacks {}: restores of the kinds they write would be refused",
                lacking.join(", ")
            ),
            format!(
                "grant the write app these application permissions, with admin consent: {}",
                lacking.join(", ")
            ),
        )
    }
}

/// The directory roles the write app holds, against those restore needs ([`DirectoryRole`]).
async fn write_roles(read: &GraphClient, writer: &GraphClient, label: &str) -> Vec<Finding> {
    let check = format!("{label}: directory roles");
    let (sp, held) = match directory_roles_of(read, writer.client_id()).await {
        Ok(found) => found,
        Err(RolesUnreadable { detail, fix }) => {
            return vec![Finding::missing(&check, detail, fix)];
        }
    };
    DirectoryRole::ALL
        .iter()
        .map(|role| {
            let (name, why) = (role.name(), role.purpose());
            if role.satisfied_by().iter().any(|id| held.contains(*id)) {
                Finding::ok(&check, format!("holds {name}"))
            } else {
                Finding::missing(
                    &check,
                    format!("does not hold {name}, which Graph requires {why}"),
                    format!(
                        "assign the write app's service principal ({sp}) the directory role {name}"
                    ),
                )
            }
        })
        .collect()
}
