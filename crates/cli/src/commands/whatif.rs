//! `rewind whatif --user U --app A [signals…] [--at T|live]`: which Conditional Access policies
//! of a state apply to a sign-in, why or why not, and what they require — for any point of
//! the timeline, not only the policies saved in the tenant now.

use std::collections::BTreeMap;

use rewind_app::access::{Subjects, load_access};
use rewind_app::whatif::WhatIfReport;
use rewind_policy::{Capabilities, DeviceValue, Identity, SignIn, Target, UserAction, explain};

use super::compare::point;
use super::session::{Session, usage};
use crate::cli::WhatifArgs;
use crate::output::{self, out, outln};

fn target(app: &str, directory: &rewind_policy::Directory) -> anyhow::Result<Target> {
    if let Some(action) = UserAction::from_urn(app) {
        return Ok(Target::UserAction(action));
    }
    if app.len() <= 3 && app.starts_with(['c', 'C']) && app[1..].chars().all(|c| c.is_ascii_digit())
    {
        return Ok(Target::AuthContext(app.to_ascii_lowercase()));
    }
    if app.starts_with("urn:") {
        return Err(usage(format!(
            "--app '{app}': user actions are urn:user:registersecurityinfo and urn:user:registerdevice"
        )));
    }
    if let Some(id) = rewind_policy::app_keyword(app) {
        return Ok(Target::App(id.to_string()));
    }
    if app.len() == 36 && app.chars().filter(|c| *c == '-').count() == 4 {
        return Ok(Target::App(app.to_ascii_lowercase()));
    }
    directory.app_by_name(app).map_or_else(
        || {
            Err(usage(format!(
                "--app '{app}' is not an application id, the name of one service principal in this state, MicrosoftAdminPortals or Office365"
            )))
        },
        |id| Ok(Target::App(id.to_string())),
    )
}

fn sign_in(args: &WhatifArgs, user: &str, target: Target) -> SignIn {
    let mut s = SignIn::new(Identity::User(user.to_string()), target);
    s.ip = args.ip;
    s.country.clone_from(&args.country);
    (s.platform, s.client_app) = (args.platform, args.client_app);
    (s.sign_in_risk, s.user_risk) = (args.sign_in_risk, args.user_risk);
    s.transfer_method = args.auth_flow;
    if args.device_compliant.is_some() || args.device_trust_type.is_some() {
        let mut device = BTreeMap::new();
        if let Some(c) = args.device_compliant {
            device.insert("isCompliant".to_string(), DeviceValue::Bool(c));
        }
        if let Some(t) = &args.device_trust_type {
            device.insert("trustType".to_string(), DeviceValue::Text(t.clone()));
        }
        s.device = Some(device);
    }
    s
}

pub async fn run(args: WhatifArgs) -> anyhow::Result<()> {
    let session = Session::open(&args.store, Some(&args.connect)).await?;
    let tenant = session.tenant().await?;
    let at = point(&session, &tenant, args.at).await?;
    let access =
        load_access(&at.store, &at.tenant, at.snapshot.id, Subjects::User(&args.user), &[]).await?;
    let user = access.directory.find_user(&args.user).ok_or_else(|| {
        usage(format!(
            "no user '{}' at {}; give an object id or user principal name",
            args.user,
            at.label()
        ))
    })?;
    let target = target(&args.app, &access.directory)?;
    let s = sign_in(&args, &user.id, target);
    let evaluation = access.policies.evaluate(&access.directory, &s)?;
    // What the user registered, as far as the authentication methods policy lets them use it.
    let caps = access
        .directory
        .principal(&user.id)
        .map(|p| Capabilities::of(&access.policies, &access.directory, &p))
        .unwrap_or_default();
    if args.store.json {
        output::json(&WhatIfReport::new(at.stamp(), user, &s, &evaluation, &caps))?;
    } else {
        outln!("What if {} signs in ({})", user.user_principal_name, at.label())?;
        out!("{}", explain::evaluation(&evaluation))?;
        if let Some(modes) = &caps.modes {
            let unmet: Vec<&str> = evaluation
                .enforced
                .requirements
                .iter()
                .filter(|q| q.certain && caps.requirement(q, &s) == rewind_policy::Tri::No)
                .map(|q| q.policy.as_str())
                .collect();
            let list: Vec<&str> = modes.iter().map(String::as_str).collect();
            outln!("\nRegistered methods: {}", list.join(", "))?;
            if !unmet.is_empty() {
                outln!("They cannot meet what {} require.", unmet.join(", "))?;
            }
        }
    }
    session.store.close().await;
    Ok(())
}
