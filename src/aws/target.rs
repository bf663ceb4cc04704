//! A target account's SDK configuration (a `[[deploy]]` account): the base configuration with
//! the credentials of `--target-profile ACCOUNT=PROFILE`, or of the admin role assumed in that
//! account (`--target-admin-role-arn`, default OrganizationAccountAccessRole). One place for
//! `approve` (the change set it approves), the watch (the failing stack event) and bootstrap
//! (the target roles). Credentials stay in memory.

use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;

use crate::aws::error::error_parts;
use crate::aws::{Sdk, sdk_config, sts};
use crate::error::{Error, Result};
use crate::model::target::Reach;
use crate::settings::Settings;

/// The session name of the AssumeRole of a target account's admin role.
pub const TARGET_SESSION: &str = "xpipeline-target";

/// The SDK configuration of `account`, reached as `reach` says; `sdk` is the pipeline
/// account's (its region, endpoint, retries and call log are kept). The error says in one
/// line why the account could not be reached.
pub async fn session(sdk: &Sdk, settings: &Settings, reach: &Reach, account: &str) -> Result<Sdk> {
    match reach {
        Reach::Profile(profile) => {
            let mut s = settings.clone();
            s.profile = Some(profile.clone());
            let target =
                sdk_config(&s, std::sync::Arc::new(|_: &crate::aws::calls::Call| {})).await;
            let target = Sdk {
                config: target.config,
                calls: sdk.calls.clone(),
            };
            let (client, _) = sts::client(&target);
            let who = sts::caller_identity(&client, Some(profile)).await?;
            if who.account != account {
                return Err(Error::usage(format!(
                    "--target-profile {account}={profile} has credentials of account {} ({}), not of {account}",
                    who.account, who.arn
                )));
            }
            Ok(target)
        }
        Reach::AdminRole(role) => {
            let (client, _) = sts::client(sdk);
            let out = client
                .assume_role()
                .role_arn(role)
                .role_session_name(TARGET_SESSION)
                .duration_seconds(sts::DEFAULT_DURATION)
                .send()
                .await
                .map_err(|e| {
                    let (code, message) = error_parts(&e);
                    let said = code.map_or(message.clone(), |c| format!("{c}: {message}"));
                    Error::op_hint(
                        format!("cannot assume {role} in account {account}: {said}"),
                        format!(
                            "pass --target-profile {account}=PROFILE with credentials of that account, or --target-admin-role-arn with a role you may assume there"
                        ),
                    )
                })?;
            let c = out.credentials.ok_or_else(|| {
                Error::op(format!("sts:AssumeRole of {role} returned no credentials"))
            })?;
            let credentials = Credentials::new(
                c.access_key_id,
                c.secret_access_key,
                Some(c.session_token),
                SystemTime::try_from(c.expiration).ok(),
                TARGET_SESSION,
            );
            Ok(Sdk {
                config: sdk
                    .config
                    .to_builder()
                    .credentials_provider(SharedCredentialsProvider::new(credentials))
                    .build(),
                calls: sdk.calls.clone(),
            })
        }
    }
}
