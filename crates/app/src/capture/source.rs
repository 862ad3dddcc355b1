//! Where each kind is read from and what reading it needs: pure facts, so that the request
//! plan of a capture can be read (and tested) apart from the I/O that carries it out.

use rewind_model::Kind;

/// The most objects Graph returns on one directory page.
pub(crate) const PAGE: usize = 999;

/// How a kind is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// One object at the kind's path.
    Singleton,
    /// A paged list, compared by hash with the previous snapshot.
    List,
    /// A delta query: every object the first time, changes afterwards.
    Delta,
    /// Read per protected principal after everything else (`/users/{id}/authentication/methods`).
    Protected,
    /// Returned inline by a singleton parent and read with it: the method configurations come
    /// in the methods policy's `authenticationMethodConfigurations`, and v1.0 documents no list
    /// of them of their own (only each one by id).
    Inline {
        /// The singleton that carries them.
        parent: Kind,
        /// Its property holding them.
        property: &'static str,
    },
    /// Contained in a parent kind and read by expanding the parent list
    /// (`/applications?$expand=federatedIdentityCredentials`); keyed `parent/child`.
    Contained {
        /// The parent kind.
        parent: Kind,
        /// The navigation property.
        nav: &'static str,
    },
}

/// How `kind` is read.
pub(crate) fn source(kind: Kind) -> Source {
    match kind {
        Kind::FederatedIdentityCredential => {
            Source::Contained { parent: Kind::Application, nav: "federatedIdentityCredentials" }
        }
        Kind::AppRoleAssignment => {
            Source::Contained { parent: Kind::ServicePrincipal, nav: "appRoleAssignedTo" }
        }
        Kind::UserAuthenticationMethods => Source::Protected,
        Kind::AuthenticationMethodConfiguration => Source::Inline {
            parent: Kind::AuthenticationMethodsPolicy,
            property: "authenticationMethodConfigurations",
        },
        k if k.is_singleton() => Source::Singleton,
        k if k.has_delta() => Source::Delta,
        _ => Source::List,
    }
}

/// Relationships kept inside their owner's version (`owners`, `members`) that delta does not
/// report, read by expanding the owner's list: `(kind, navigation)`. Group and administrative
/// unit links come with their own delta instead ([`delta_links`]).
pub(crate) const LINKS: &[(Kind, &str)] =
    &[(Kind::Application, "owners"), (Kind::ServicePrincipal, "owners")];

/// The relationships a kind's delta round carries as `{nav}@delta` annotations, kept inside the
/// owner's version: group members and owners (owners tracked because [`GROUP_SELECT`] selects
/// them, group-delta.md) and administrative unit members (administrativeunit-delta.md's
/// example). A large object's links can be split over several pages of the round.
pub(crate) fn delta_links(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Group => &["members", "owners"],
        Kind::AdministrativeUnit => &["members"],
        _ => &[],
    }
}

/// Graph returns at most this many objects on a page that expands a relationship.
pub(crate) const EXPAND_PAGE: usize = 100;

/// Graph returns at most this many items in an expanded relationship; an owner that shows
/// exactly this many has its relationship paged in full.
pub(crate) const EXPAND_CAP: usize = 20;

/// Properties read for users: the delta query tracks only what it is asked for, and Graph's
/// default set leaves out most configuration (account state, department, usage location…) and
/// whether a user is synchronised from on-premises — such a user cannot be written in the
/// cloud, so a restore must know.
pub(crate) const USER_SELECT: &[&str] = &[
    "id",
    "accountEnabled",
    "ageGroup",
    "businessPhones",
    "city",
    "companyName",
    "consentProvidedForMinor",
    "country",
    "creationType",
    "department",
    "displayName",
    "employeeId",
    "employeeType",
    "givenName",
    "jobTitle",
    "mail",
    "mailNickname",
    "mobilePhone",
    "officeLocation",
    "onPremisesImmutableId",
    "onPremisesSyncEnabled",
    "otherMails",
    "passwordPolicies",
    "postalCode",
    "preferredLanguage",
    "state",
    "streetAddress",
    "surname",
    "usageLocation",
    "userPrincipalName",
    "userType",
];

/// Properties read for groups: Graph's default set for groups (group.md, the properties
/// "returned by default"), which a `$select` must now name because it also asks for `members`
/// and `owners` — group delta tracks owners only when they are selected (group-delta.md), and
/// owners read with the delta are current the moment a change lands, not when the audit log
/// mentions it.
pub(crate) const GROUP_SELECT: &[&str] = &[
    "id",
    "classification",
    "description",
    "displayName",
    "expirationDateTime",
    "groupTypes",
    "isAssignableToRole",
    "mail",
    "mailEnabled",
    "mailNickname",
    "membershipRule",
    "membershipRuleProcessingState",
    "onPremisesDomainName",
    "onPremisesLastSyncDateTime",
    "onPremisesNetBiosName",
    "onPremisesSamAccountName",
    "onPremisesSecurityIdentifier",
    "onPremisesSyncEnabled",
    "preferredDataLocation",
    "preferredLanguage",
    "proxyAddresses",
    "renewedDateTime",
    "resourceBehaviorOptions",
    "resourceProvisioningOptions",
    "securityEnabled",
    "securityIdentifier",
    "theme",
    "uniqueName",
    "visibility",
    "onPremisesProvisioningErrors",
    "serviceProvisioningErrors",
    "createdDateTime",
    "deletedDateTime",
    "members",
    "owners",
];

/// The query (`?$select=…`) that reads objects of `kind` with the properties capture stores,
/// for reads outside a capture (a recycle bin): empty where Graph's default set is all of them.
pub(crate) fn select_query(kind: Kind) -> String {
    let select: Vec<&str> = match kind {
        Kind::User => USER_SELECT.to_vec(),
        Kind::Group => {
            GROUP_SELECT.iter().copied().filter(|p| !matches!(*p, "members" | "owners")).collect()
        }
        _ => return String::new(),
    };
    format!("?$select={}", select.join(","))
}

/// The URL that starts reading `kind` in full.
pub(crate) fn start_url(kind: Kind) -> String {
    let path = kind.graph_path();
    match source(kind) {
        Source::Singleton => path.to_string(),
        Source::Delta if kind == Kind::User => {
            format!("{path}/delta?$select={}", USER_SELECT.join(","))
        }
        Source::Delta if kind == Kind::Group => {
            format!("{path}/delta?$select={}", GROUP_SELECT.join(","))
        }
        Source::Delta => format!("{path}/delta"),
        Source::List | Source::Protected => path.to_string(),
        Source::Inline { parent, .. } => parent.graph_path().to_string(),
        Source::Contained { parent, nav } => {
            format!("{}?$select=id&$expand={nav}", parent.graph_path())
        }
    }
}

/// A delta link as kept in the store: tagged with the request that started its round, since
/// the link carries that request's `$select` and following it never reads what a newer
/// Rewind asks for (a property added to [`USER_SELECT`]). URL fragments are never sent.
pub(crate) fn tag_cursor(kind: Kind, link: &str) -> String {
    format!("{link}#rewind={}", start_tag(kind))
}

/// The delta link to resume `kind` from, if the stored cursor was issued for the request
/// Rewind makes today; `None` reads the kind in full.
pub(crate) fn resumable(kind: Kind, stored: &str) -> Option<String> {
    let (link, tag) = stored.rsplit_once("#rewind=")?;
    (tag == start_tag(kind)).then(|| link.to_string())
}

fn start_tag(kind: Kind) -> String {
    let hash = blake3::hash(start_url(kind).as_bytes());
    hash.to_hex()[..16].to_string()
}

/// The URL listing every owner of a relationship, with the related ids only.
pub(crate) fn links_url(kind: Kind, nav: &str) -> String {
    format!("{}?$select=id&$expand={nav}($select=id)", kind.graph_path())
}

/// The URL of one object's relationship, paged in full.
pub(crate) fn relationship_url(kind: Kind, id: &str, nav: &str) -> String {
    let select =
        if matches!(nav, "owners" | "members" | "ownedObjects") { "?$select=id" } else { "" };
    format!("{}/{id}/{nav}{select}", kind.graph_path())
}

/// The least-privileged application permission that reads `kind` (for error messages).
pub(crate) fn read_permission(kind: Kind) -> &'static str {
    match kind {
        Kind::User => "User.Read.All",
        Kind::Group => "GroupMember.Read.All",
        Kind::AdministrativeUnit => "AdministrativeUnit.Read.All",
        Kind::Application
        | Kind::ServicePrincipal
        | Kind::FederatedIdentityCredential
        | Kind::AppRoleAssignment => "Application.Read.All",
        Kind::OAuth2PermissionGrant => "Directory.Read.All",
        Kind::RoleDefinition | Kind::RoleAssignment => "RoleManagement.Read.Directory",
        Kind::RoleEligibilitySchedule => "RoleEligibilitySchedule.Read.Directory",
        // The least privileged is RoleAssignmentSchedule.Read.Directory, but the read app
        // already holds RoleManagement.Read.Directory for role assignments, which Graph also
        // accepts here (rbacapplication-list-roleassignmentschedules.md): no new grant.
        Kind::RoleAssignmentSchedule => "RoleManagement.Read.Directory",
        Kind::UserAuthenticationMethods => "UserAuthenticationMethod.Read.All",
        _ => "Policy.Read.All",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_resumes_only_the_request_it_was_issued_for() {
        let link = "https://graph.microsoft.com/v1.0/users/delta?$deltatoken=x";
        let kept = tag_cursor(Kind::User, link);
        assert_eq!(resumable(Kind::User, &kept).as_deref(), Some(link));
        assert_eq!(resumable(Kind::Group, &kept), None, "another request");
        assert_eq!(resumable(Kind::User, link), None, "kept before the tag");
    }

    #[test]
    fn every_kind_has_a_way_in_and_a_permission() {
        for kind in Kind::ALL {
            let url = start_url(kind);
            assert!(url.starts_with('/'), "{kind:?}: {url}");
            assert!(read_permission(kind).contains(".Read"));
        }
        assert_eq!(
            start_url(Kind::FederatedIdentityCredential),
            "/applications?$select=id&$expand=federatedIdentityCredentials"
        );
        assert!(start_url(Kind::Group).ends_with(",members,owners"));
        assert_eq!(
            start_url(Kind::AuthenticationMethodConfiguration),
            "/policies/authenticationMethodsPolicy"
        );
        assert_eq!(start_url(Kind::RoleAssignment), "/roleManagement/directory/roleAssignments");
        assert_eq!(
            links_url(Kind::Application, "owners"),
            "/applications?$select=id&$expand=owners($select=id)"
        );
    }
}
