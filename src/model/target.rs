//! How the tool reaches a target account (a `[[deploy]]` account): with a profile given by
//! `--target-profile ACCOUNT=PROFILE`, else by assuming an admin role of that account
//! (`--target-admin-role-arn ARN`, one per account, default the Organizations role). Pure:
//! the flags read and checked; `aws::target::session` makes the credentials.

use std::collections::BTreeMap;

use crate::model::arn::{is_account, parse_arn};

/// The role AWS Organizations creates in a member account for the management account.
pub const ORGANIZATION_ROLE: &str = "OrganizationAccountAccessRole";

/// How one target account is reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reach {
    Profile(String),
    AdminRole(String),
}

/// The target-account flags, checked: profiles and admin roles by account.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Access {
    profiles: BTreeMap<String, String>,
    roles: BTreeMap<String, String>,
    /// `--target-admin-role-arn NAME`: the role of that name in every account not given
    /// otherwise (default OrganizationAccountAccessRole).
    role_name: Option<String>,
}

impl Access {
    /// From `--target-profile ACCOUNT=PROFILE` and `--target-admin-role-arn ARN` (each
    /// repeatable); a usage message when one is malformed or an account is given twice.
    pub fn from_flags(profiles: &[String], roles: &[String]) -> Result<Access, String> {
        let mut access = Access::default();
        for p in profiles {
            let Some((account, profile)) = p.split_once('=') else {
                return Err(format!(
                    "--target-profile takes ACCOUNT=PROFILE (e.g. 444444444444=prod-admin), found {p:?}"
                ));
            };
            let (account, profile) = (account.trim(), profile.trim());
            if !is_account(account) || profile.is_empty() {
                return Err(format!(
                    "--target-profile takes ACCOUNT=PROFILE with a 12-digit account and a profile name, found {p:?}"
                ));
            }
            if access
                .profiles
                .insert(account.to_owned(), profile.to_owned())
                .is_some()
            {
                return Err(format!("--target-profile names account {account} twice"));
            }
        }
        for r in roles {
            if !r.starts_with("arn:") {
                let valid = !r.is_empty()
                    && r.len() <= 64
                    && r.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c));
                if !valid || access.role_name.replace(r.clone()).is_some() {
                    return Err(format!(
                        "--target-admin-role-arn takes one role NAME for every target account, or role ARNs (one per account: arn:aws:iam::ACCOUNT:role/NAME); found {r:?}"
                    ));
                }
                continue;
            }
            let account = parse_arn(r)
                .filter(|a| a.service == "iam" && a.resource.starts_with("role/"))
                .map(|a| a.account)
                .filter(|a| is_account(a));
            let Some(account) = account else {
                return Err(format!(
                    "--target-admin-role-arn takes the ARN of a role in a target account (arn:aws:iam::ACCOUNT:role/NAME), found {r:?}"
                ));
            };
            if access.profiles.contains_key(account) {
                return Err(format!(
                    "account {account} has both --target-profile and --target-admin-role-arn: give one"
                ));
            }
            if access.roles.insert(account.to_owned(), r.clone()).is_some() {
                return Err(format!(
                    "--target-admin-role-arn names account {account} twice"
                ));
            }
        }
        Ok(access)
    }

    /// How `account` is reached: its profile, its admin role, else the Organizations role.
    pub fn reach(&self, partition: &str, account: &str) -> Reach {
        if let Some(p) = self.profiles.get(account) {
            return Reach::Profile(p.clone());
        }
        Reach::AdminRole(self.roles.get(account).cloned().unwrap_or_else(|| {
            let name = self.role_name.as_deref().unwrap_or(ORGANIZATION_ROLE);
            format!("arn:{partition}:iam::{account}:role/{name}")
        }))
    }

    /// The accounts the flags name (by profile or role ARN), for a command to check they are
    /// its targets.
    pub fn named_accounts(&self) -> impl Iterator<Item = &str> {
        self.profiles
            .keys()
            .chain(self.roles.keys())
            .map(String::as_str)
    }

    /// The profile given for `account`, if any (named in commands the user runs there).
    pub fn profile(&self, account: &str) -> Option<&str> {
        self.profiles.get(account).map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn a_role_name_applies_to_every_account_not_given_otherwise() {
        let a = Access::from_flags(
            &[],
            &s(&["Deployer", "arn:aws:iam::333333333333:role/Admin"]),
        )
        .unwrap();
        assert_eq!(
            a.reach("aws", "444444444444"),
            Reach::AdminRole("arn:aws:iam::444444444444:role/Deployer".into())
        );
        assert_eq!(
            a.reach("aws", "333333333333"),
            Reach::AdminRole("arn:aws:iam::333333333333:role/Admin".into())
        );
        assert_eq!(a.named_accounts().collect::<Vec<_>>(), ["333333333333"]);
        for bad in [&["A", "B"][..], &["role/x"][..], &[""][..]] {
            let err = Access::from_flags(&[], &s(bad)).unwrap_err();
            assert!(
                err.contains("one role NAME for every target account"),
                "{err}"
            );
        }
    }

    #[test]
    fn each_account_is_reached_by_its_profile_its_role_or_the_organization_role() {
        let a = Access::from_flags(
            &s(&["444444444444=prod-admin"]),
            &s(&["arn:aws:iam::333333333333:role/Admin"]),
        )
        .unwrap();
        assert_eq!(
            a.reach("aws", "444444444444"),
            Reach::Profile("prod-admin".into())
        );
        assert_eq!(
            a.reach("aws", "333333333333"),
            Reach::AdminRole("arn:aws:iam::333333333333:role/Admin".into())
        );
        assert_eq!(
            a.reach("aws-cn", "555555555555"),
            Reach::AdminRole(
                "arn:aws-cn:iam::555555555555:role/OrganizationAccountAccessRole".into()
            )
        );
        assert_eq!(a.profile("444444444444"), Some("prod-admin"));
    }

    #[test]
    fn malformed_flags_are_refused_naming_the_flag() {
        let e = Access::from_flags(&s(&["prod-admin"]), &[]).unwrap_err();
        assert!(e.contains("ACCOUNT=PROFILE"), "{e}");
        let e = Access::from_flags(&s(&["4444=p"]), &[]).unwrap_err();
        assert!(e.contains("12-digit"), "{e}");
        let e = Access::from_flags(&[], &s(&["arn:aws:iam::444444444444:user/x"])).unwrap_err();
        assert!(e.starts_with("--target-admin-role-arn"), "{e}");
        let e = Access::from_flags(
            &s(&["444444444444=p"]),
            &s(&["arn:aws:iam::444444444444:role/x"]),
        )
        .unwrap_err();
        assert!(e.contains("both"), "{e}");
        let e = Access::from_flags(&s(&["444444444444=p", "444444444444=q"]), &[]).unwrap_err();
        assert!(e.contains("twice"), "{e}");
    }
}
