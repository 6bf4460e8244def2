//! The one access policy: who may see or change what.
//!
//! An [`Actor`] is made from a verified access token. Each resource has a
//! `can_read_*` and, where it changes, a `can_*` per kind of change; lists, searches,
//! exports and statistics take one [`Visibility`] from [`Actor::visibility`] or
//! [`Actor::scope`]. No other module decides who may see what: handlers state which
//! roles may call them through a role extractor whose role set is defined here
//! ([`roles`]), and use cases ask this module about each record they load.
//!
//! A record the actor may not read is answered as if it did not exist (404), so
//! that ids of other candidates' records reveal nothing.

use domain::account::{Role, Scope};
pub use persistence::visibility::Visibility;
use uuid::Uuid;

/// The signed-in caller, as the verified access token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The account id.
    pub id: Uuid,
    /// The role.
    pub role: Role,
    /// The school (staff: always; candidates: if they gave one).
    pub school: Option<String>,
    /// Service-account scopes.
    pub scopes: Vec<Scope>,
    /// A temporary password must be changed before anything else.
    pub must_change_password: bool,
}

/// Whose a record is: the candidate it belongs to and that candidate's school.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner<'a> {
    /// The candidate's account id.
    pub candidate: Uuid,
    /// The candidate's school, if any.
    pub school: Option<&'a str>,
}

impl<'a> Owner<'a> {
    /// The owner `candidate` of school `school`.
    pub fn new(candidate: Uuid, school: Option<&'a str>) -> Self {
        Self { candidate, school }
    }
}

/// The role sets of the role extractors (who may call an operation at all).
pub mod roles {
    use domain::account::Role;

    /// Any signed-in role.
    pub const ANY: &[Role] = &[];
    /// Candidates only.
    pub const CANDIDATE: &[Role] = &[Role::Candidate];
    /// People: candidates, school staff and admins (not service accounts).
    pub const PERSON: &[Role] = &[Role::Candidate, Role::Staff, Role::Admin];
    /// School staff and admins.
    pub const STAFF_OR_ADMIN: &[Role] = &[Role::Staff, Role::Admin];
    /// Admins only.
    pub const ADMIN: &[Role] = &[Role::Admin];
    /// Service accounts only (their scopes are checked per resource).
    pub const INTEGRATION: &[Role] = &[Role::Integration];
    /// Staff, admins and service accounts (scopes checked per resource).
    pub const STAFF_ADMIN_OR_INTEGRATION: &[Role] = &[Role::Staff, Role::Admin, Role::Integration];
}

impl Actor {
    /// Whether the actor is a service account holding `scope`.
    pub fn has_scope(&self, scope: Scope) -> bool {
        self.role == Role::Integration && self.scopes.contains(&scope)
    }

    /// Staff of `school`, or an admin (any school).
    pub fn manages(&self, school: Option<&str>) -> bool {
        match self.role {
            Role::Admin => true,
            Role::Staff => self.school.is_some() && self.school.as_deref() == school,
            _ => false,
        }
    }

    fn is_owner(&self, owner: Owner<'_>) -> bool {
        self.role == Role::Candidate && self.id == owner.candidate
    }

    /// A candidate account: the candidate themself, their school's staff, admins.
    pub fn can_read_candidate(&self, owner: Owner<'_>) -> bool {
        self.is_owner(owner) || self.manages(owner.school)
    }

    /// Staff actions on a candidate account (password reset, detail): the school's
    /// staff and admins.
    pub fn can_manage_candidate(&self, owner: Owner<'_>) -> bool {
        self.manages(owner.school)
    }

    /// A prior degree: its owner, the school's staff, admins, and service accounts
    /// with `verification:write` (they verify every school's degrees).
    pub fn can_read_prior_degree(&self, owner: Owner<'_>) -> bool {
        self.is_owner(owner)
            || self.manages(owner.school)
            || self.has_scope(Scope::VerificationWrite)
    }

    /// Modify or submit a prior degree: its owner only (R4, R6).
    pub fn can_edit_prior_degree(&self, owner: Owner<'_>) -> bool {
        self.is_owner(owner)
    }

    /// Record a verification result (R5): the school's staff, admins, and service
    /// accounts with `verification:write`.
    pub fn can_verify_prior_degree(&self, owner: Owner<'_>) -> bool {
        self.manages(owner.school) || self.has_scope(Scope::VerificationWrite)
    }

    /// Whether the actor may verify prior degrees at all (some school's).
    pub fn may_verify(&self) -> bool {
        matches!(self.role, Role::Staff | Role::Admin) || self.has_scope(Scope::VerificationWrite)
    }

    /// A certification application, its check, history and decision: its owner,
    /// the school's staff, admins.
    pub fn can_read_application(&self, owner: Owner<'_>) -> bool {
        self.is_owner(owner) || self.manages(owner.school)
    }

    /// Create an application: candidates, for themselves.
    pub fn can_apply(&self) -> bool {
        self.role == Role::Candidate
    }

    /// Change, submit or withdraw an application: its owner only.
    pub fn can_edit_application(&self, owner: Owner<'_>) -> bool {
        self.is_owner(owner)
    }

    /// Return or review an application (R19): the school's staff, admins.
    pub fn can_review_application(&self, owner: Owner<'_>) -> bool {
        self.manages(owner.school)
    }

    /// Read the integration outbox: service accounts with `outbox:read`.
    pub fn can_read_outbox(&self) -> bool {
        self.has_scope(Scope::OutboxRead)
    }

    /// Change the catalogue, rounds, schools and accounts: admins.
    pub fn can_administer(&self) -> bool {
        self.role == Role::Admin
    }

    /// Which candidates' records a list shows the actor: a candidate their own,
    /// staff their school's, admins and verifying service accounts everyone's.
    pub fn visibility(&self) -> Visibility {
        match self.role {
            Role::Candidate => Visibility::Owner(self.id),
            Role::Staff => match &self.school {
                Some(school) => Visibility::School(school.clone()),
                None => Visibility::Nothing,
            },
            Role::Admin => Visibility::All,
            Role::Integration if self.has_scope(Scope::VerificationWrite) => Visibility::All,
            Role::Integration => Visibility::Nothing,
        }
    }

    /// Which candidates' applications a list shows the actor: [`Actor::visibility`]
    /// for people; service accounts read no applications.
    pub fn application_visibility(&self) -> Visibility {
        match self.role {
            Role::Integration => Visibility::Nothing,
            _ => self.visibility(),
        }
    }

    /// [`Actor::visibility`] narrowed to one requested school: admins get that
    /// school, staff get their own school when they ask for it or for none, and
    /// nothing when they ask for another (an empty answer, never its rows).
    pub fn scope(&self, requested_school: Option<&str>) -> Visibility {
        match (self.visibility(), requested_school) {
            (Visibility::All, Some(school)) => Visibility::School(school.to_owned()),
            (Visibility::School(own), Some(school)) if own != school => Visibility::Nothing,
            (Visibility::Owner(id), _) => Visibility::Owner(id),
            (v, _) => v,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(role: Role, school: Option<&str>, scopes: &[Scope]) -> Actor {
        Actor {
            id: Uuid::now_v7(),
            role,
            school: school.map(str::to_owned),
            scopes: scopes.to_vec(),
            must_change_password: false,
        }
    }

    #[test]
    fn candidates_read_and_change_only_their_own_records() {
        let me = actor(Role::Candidate, Some("S1"), &[]);
        let mine = Owner::new(me.id, Some("S1"));
        let theirs = Owner::new(Uuid::now_v7(), Some("S1"));
        assert!(me.can_read_application(mine) && me.can_edit_application(mine));
        assert!(!me.can_read_application(theirs) && !me.can_edit_application(theirs));
        assert!(
            !me.can_review_application(mine),
            "a candidate never reviews"
        );
        assert!(!me.can_verify_prior_degree(mine));
        assert_eq!(me.visibility(), Visibility::Owner(me.id));
    }

    #[test]
    fn staff_reach_their_school_only_and_never_edit_for_the_candidate() {
        let staff = actor(Role::Staff, Some("S1"), &[]);
        let own = Owner::new(Uuid::now_v7(), Some("S1"));
        let other = Owner::new(Uuid::now_v7(), Some("S2"));
        let none = Owner::new(Uuid::now_v7(), None);
        assert!(staff.can_read_application(own) && staff.can_review_application(own));
        assert!(!staff.can_read_application(other) && !staff.can_review_application(other));
        assert!(!staff.can_read_application(none));
        assert!(!staff.can_edit_application(own) && !staff.can_edit_prior_degree(own));
        assert_eq!(staff.scope(Some("S2")), Visibility::Nothing);
        assert_eq!(staff.scope(Some("S1")), Visibility::School("S1".into()));
        assert_eq!(staff.scope(None), Visibility::School("S1".into()));
    }

    #[test]
    fn staff_without_a_school_see_nothing() {
        let staff = actor(Role::Staff, None, &[]);
        assert!(!staff.manages(None));
        assert_eq!(staff.visibility(), Visibility::Nothing);
    }

    #[test]
    fn admins_reach_every_school_and_may_narrow_lists() {
        let admin = actor(Role::Admin, None, &[]);
        let any = Owner::new(Uuid::now_v7(), Some("S9"));
        assert!(admin.can_read_application(any) && admin.can_review_application(any));
        assert!(admin.can_verify_prior_degree(any) && admin.can_administer());
        assert_eq!(admin.scope(None), Visibility::All);
        assert_eq!(admin.scope(Some("S9")), Visibility::School("S9".into()));
    }

    #[test]
    fn service_accounts_act_by_scope() {
        let verifier = actor(Role::Integration, None, &[Scope::VerificationWrite]);
        let reader = actor(Role::Integration, None, &[Scope::OutboxRead]);
        let any = Owner::new(Uuid::now_v7(), Some("S1"));
        assert!(verifier.can_read_prior_degree(any) && verifier.can_verify_prior_degree(any));
        assert!(!verifier.can_read_application(any) && !verifier.can_read_outbox());
        assert!(reader.can_read_outbox() && !reader.can_read_prior_degree(any));
        assert!(!reader.may_verify() && verifier.may_verify());
        assert_eq!(reader.visibility(), Visibility::Nothing);
    }
}
