//! A target account's SDK configuration (a `[[deploy]]` account): the base configuration with
//! the credentials of `--target-profile ACCOUNT=PROFILE`, or of the admin role assumed in that
//! account (`--target-admin-role-arn`, default OrganizationAccountAccessRole). One place for
//! `approve` (the change set it approves), the watch (the failing stack event) and bootstrap
//! (the target roles). Credentials stay in memory.

use aws_credential_types::provider::SharedCredentialsProvider;

use crate::aws::{Sdk, sdk_config, sts};
use crate::error::{Error, Result};
use crate::model::arn::partition_of;
use crate::model::target::{Access, Reach};
use crate::settings::Settings;

/// Which account `session` reaches, for what its errors say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The source account (bootstrap's `--source-profile`, `--source-admin-role-arn`).
    Source,
    /// A `[[deploy]]` account (`--target-profile`, `--target-admin-role-arn`).
    Target,
}

/// The SDK configuration of `account`, reached as `reach` says; `sdk` is the pipeline
/// account's (its region, endpoint, retries and call log are kept). `base_arn`, when known,
/// is named in a refusal. The error says in one line why the account could not be reached
/// and which flag reaches it otherwise. The one place the tool reaches another account.
pub async fn session(
    sdk: &Sdk,
    settings: &Settings,
    reach: &Reach,
    account: &str,
    side: Side,
    base_arn: Option<&str>,
) -> Result<Sdk> {
    match reach {
        Reach::Profile(profile) => {
            let mut s = settings.clone();
            s.profile = Some(profile.clone());
            let other = sdk_config(&s, std::sync::Arc::new(|_: &crate::aws::calls::Call| {})).await;
            let other = Sdk {
                config: other.config,
                calls: sdk.calls.for_account(account),
            };
            let (client, _) = sts::client(&other);
            let who = sts::caller_identity(&client, Some(profile)).await?;
            if who.account != account {
                let (flag, key) = match side {
                    Side::Target => (
                        format!("--target-profile {account}={profile}"),
                        "the target account",
                    ),
                    Side::Source => (format!("--source-profile {profile}"), "source.account"),
                };
                return Err(Error::usage(format!(
                    "{flag} has credentials of account {} ({}), but {key} is {account}",
                    who.account, who.arn
                )));
            }
            Ok(other)
        }
        Reach::AdminRole(role) => {
            let (client, _) = sts::client(sdk);
            let target = (side == Side::Target).then_some(account);
            let credentials = sts::assume_admin(&client, role, base_arn, target).await?;
            Ok(Sdk {
                config: sdk
                    .config
                    .to_builder()
                    .credentials_provider(SharedCredentialsProvider::new(credentials))
                    .build(),
                calls: sdk.calls.for_account(account),
            })
        }
    }
}

/// The SDK configuration for calls in `account` (a `[[deploy]]` account in `region`): `sdk`
/// itself when that is the caller's own account, else the target session `access` reaches.
pub async fn in_account(
    sdk: &Sdk,
    settings: &Settings,
    access: &Access,
    own_account: &str,
    account: &str,
    region: &str,
) -> Result<Sdk> {
    if account == own_account {
        return Ok(sdk.clone());
    }
    let reach = access.reach(partition_of(region), account);
    session(sdk, settings, &reach, account, Side::Target, None).await
}
