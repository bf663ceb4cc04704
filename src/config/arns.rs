//! The rule every ARN of xpipeline.toml follows: it parses, names the right service and kind
//! of resource, and agrees with the declared partition, account and region. Each fault is
//! reported on the ARN's text, naming the key it must agree with.

use toml::Spanned;

use super::Diagnostics;
use crate::model::arn::parse_arn;

/// The region an ARN must carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Region<'a> {
    /// A global service (IAM): the ARN has no region.
    Global,
    /// A regional service, but the declared region is invalid: not checked.
    Unknown,
    /// pipeline.region.
    Is(&'a str),
}

/// What an ARN must be: of `service`, its resource `kind/NAME`, in `partition`, and (when
/// known) in the account declared by the key `account.1`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Rule<'a> {
    pub service: &'a str,
    pub kind: &'a str,
    pub partition: &'a str,
    /// The account and the key that declares it.
    pub account: Option<(&'a str, &'a str)>,
    pub region: Region<'a>,
}

/// Check the ARN at `key` against `rule`, reporting every fault; true when there is none.
pub(super) fn check(
    diags: &mut Diagnostics,
    v: &Spanned<String>,
    key: &str,
    rule: &Rule<'_>,
) -> bool {
    let Rule {
        service,
        kind,
        partition,
        ..
    } = *rule;
    let text = v.get_ref();
    let mut err = |msg: String| diags.push(v.span(), msg);
    let example = match service {
        "iam" => format!("arn:{partition}:iam::ACCOUNT:{kind}/NAME"),
        _ => format!("arn:{partition}:{service}:REGION:ACCOUNT:{kind}/ID"),
    };
    let Some(arn) = parse_arn(text) else {
        err(format!(
            "{key} is not an ARN (expected {example}), found {text:?}"
        ));
        return false;
    };
    if arn.service != service {
        err(format!(
            "{key} must be a {service} ARN, found a {} ARN",
            arn.service
        ));
        return false;
    }
    if service == "kms" && arn.resource.starts_with("alias/") {
        err(format!(
            "{key} is a KMS alias; give the key ARN ({example}): aliases do not resolve across accounts, so the source account could not use it"
        ));
        return false;
    }
    let Some(name) = arn
        .resource
        .strip_prefix(kind)
        .and_then(|r| r.strip_prefix('/'))
    else {
        err(format!(
            "{key} must name a {kind} ({example}), found {:?}",
            arn.resource
        ));
        return false;
    };
    let mut ok = true;
    if name.is_empty() {
        err(format!("{key} has an empty {kind} name"));
        ok = false;
    } else if service == "kms" && !super::names::is_kms_key_id(name) {
        err(format!(
            "{key} ends in key/{name}, which is not a KMS key id: AWS writes one as a UUID \
             (key/1234abcd-12ab-34cd-56ef-1234567890ab) or, for a multi-Region key, mrk- and 32 \
             hex digits; copy the KeyMetadata.Arn of `aws kms describe-key --key-id alias/NAME`"
        ));
        ok = false;
    }
    if arn.partition != partition {
        err(format!(
            "{key} is in partition {} but pipeline.region is in partition {partition}",
            arn.partition
        ));
        ok = false;
    }
    if let Some((want, want_key)) = rule.account {
        if arn.account != want {
            err(format!(
                "{key} is in account {} but {want_key} is {want}",
                arn.account
            ));
            ok = false;
        }
    }
    match rule.region {
        Region::Is(want) if arn.region != want => {
            err(format!(
                "{key} is in region {:?} but pipeline.region is {want}",
                arn.region
            ));
            ok = false;
        }
        Region::Global if !arn.region.is_empty() => {
            err(format!(
                "{key}: {service} ARNs have no region, found {:?}",
                arn.region
            ));
            ok = false;
        }
        _ => {}
    }
    ok
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(text: &str, rule: Rule<'_>) -> Vec<String> {
        let mut diags = Diagnostics::new("x", text);
        let ok = check(&mut diags, &Spanned::new(0..1, text.to_owned()), "k", &rule);
        assert_eq!(ok, diags.is_empty());
        diags.items.into_iter().map(|d| d.message).collect()
    }

    const ROLE: Rule<'static> = Rule {
        service: "iam",
        kind: "role",
        partition: "aws",
        account: Some(("111111111111", "pipeline.account")),
        region: Region::Global,
    };

    #[test]
    fn every_fault_of_a_parsed_arn_is_reported() {
        assert!(problems("arn:aws:iam::111111111111:role/r", ROLE).is_empty());
        assert_eq!(
            problems("arn:aws-cn:iam:eu-west-1:222222222222:role/", ROLE),
            [
                "k has an empty role name",
                "k is in partition aws-cn but pipeline.region is in partition aws",
                "k is in account 222222222222 but pipeline.account is 111111111111",
                "k: iam ARNs have no region, found \"eu-west-1\"",
            ]
        );
    }

    #[test]
    fn the_first_structural_fault_stops() {
        assert_eq!(
            problems("nope", ROLE),
            ["k is not an ARN (expected arn:aws:iam::ACCOUNT:role/NAME), found \"nope\""]
        );
        assert_eq!(
            problems("arn:aws:iam::111111111111:user/u", ROLE),
            ["k must name a role (arn:aws:iam::ACCOUNT:role/NAME), found \"user/u\""]
        );
        let key = Rule {
            service: "kms",
            kind: "key",
            region: Region::Unknown,
            ..ROLE
        };
        assert!(
            problems("arn:aws:kms:xx-east-9:111111111111:alias/a", key)[0]
                .starts_with("k is a KMS alias")
        );
        assert!(
            problems(
                "arn:aws:kms:xx-east-9:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab",
                key
            )
            .is_empty()
        );
        assert!(
            problems("arn:aws:kms:xx-east-9:111111111111:key/1234abcd-...", key)[0]
                .starts_with("k ends in key/1234abcd-..., which is not a KMS key id")
        );
    }
}
