//! `POST /invitations` (invitation-post.md): a B2B guest is made by invitation, never by
//! `POST /users`. The guest is a user with `userType` Guest, `creationType` Invitation,
//! `externalUserState` `PendingAcceptance` until redeemed, and a sign-in name made from the email
//! address (`pat_fabrikam.com#EXT#@{tenant domain}`). Inviting an address that already has a
//! guest answers with that guest (the documented way to resend an invitation).

use serde_json::{Value, json};

use super::Ctx;
use super::audit::{AuditOp, record};
use super::kinds::security_identifier;
use crate::error::GraphError;
use crate::resource::Coll;
use crate::tenant::Tenant;
use crate::wire::GraphResponse;

pub(crate) fn invite(t: &mut Tenant, ctx: &Ctx<'_>) -> Result<GraphResponse, GraphError> {
    let body = ctx.body_object()?;
    let text = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_string);
    let email = text("invitedUserEmailAddress")
        .filter(|e| e.split_once('@').is_some_and(|(a, d)| !a.is_empty() && d.contains('.')))
        .ok_or_else(|| {
            GraphError::bad_request("invitedUserEmailAddress must be an email address.")
        })?;
    let redirect = text("inviteRedirectUrl")
        .ok_or_else(|| GraphError::bad_request("The request needs 'inviteRedirectUrl'."))?;
    let send = body.get("sendInvitationMessage").and_then(Value::as_bool).unwrap_or(false);
    let upn = format!("{}#EXT#@{}", email.replace('@', "_"), t.domain);
    let name = text("invitedUserDisplayName").unwrap_or_else(|| email.clone());
    let user = match t.sign_in_name_owner(&upn).map(str::to_string) {
        Some(existing) => existing,
        None => add_guest(t, ctx, &upn, &email, &name),
    };
    let invitation = t.new_guid();
    let status = t
        .get(Coll::Users, &user)
        .and_then(|u| u.get("externalUserState"))
        .cloned()
        .unwrap_or(Value::String("PendingAcceptance".into()));
    Ok(GraphResponse::json(
        201,
        json!({
            "@odata.context": format!("{}/v1.0/$metadata#invitations/$entity", ctx.base_url),
            "id": invitation,
            "inviteRedeemUrl": format!("https://login.microsoftonline.com/redeem?rd=emulator&ticket={invitation}"),
            "invitedUserDisplayName": name,
            "invitedUserEmailAddress": email,
            "invitedUserType": text("invitedUserType").unwrap_or_else(|| "Guest".into()),
            "inviteRedirectUrl": redirect,
            "sendInvitationMessage": send,
            "resetRedemption": false,
            "status": status,
            "invitedUser": {"id": user},
            "invitedUserMessageInfo": {"ccRecipients": [], "customizedMessageBody": null, "messageLanguage": null},
        }),
    ))
}

fn add_guest(t: &mut Tenant, ctx: &Ctx<'_>, upn: &str, email: &str, name: &str) -> String {
    let id = t.new_guid();
    let now = Value::String(t.now_string());
    let user = json!({
        "id": id, "accountEnabled": true, "displayName": name, "mail": email,
        "otherMails": [email], "userPrincipalName": upn, "userType": "Guest",
        "creationType": "Invitation", "externalUserState": "PendingAcceptance",
        "externalUserStateChangeDateTime": now, "createdDateTime": now,
        "securityIdentifier": security_identifier(&id),
        "identities": [{"signInType": "userPrincipalName", "issuer": t.domain, "issuerAssignedId": upn}],
    });
    if let Value::Object(user) = user {
        t.put(Coll::Users, &id, user);
    }
    record(
        t,
        &ctx.actor,
        Coll::Users,
        AuditOp::Named { activity: "Invite external user".into(), operation: "Add" },
        &id,
        Some(name),
        Vec::new(),
    );
    id
}
