//! ARNs and partitions: the one place that splits an ARN, names the partition of a region and
//! builds the ARNs the tool needs, so that China and GovCloud are right in every message.

/// An ARN split into its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arn<'a> {
    pub partition: &'a str,
    pub service: &'a str,
    pub region: &'a str,
    pub account: &'a str,
    pub resource: &'a str,
}

pub fn parse_arn(s: &str) -> Option<Arn<'_>> {
    let mut parts = s.splitn(6, ':');
    if parts.next()? != "arn" {
        return None;
    }
    let arn = Arn {
        partition: parts.next()?,
        service: parts.next()?,
        region: parts.next()?,
        account: parts.next()?,
        resource: parts.next()?,
    };
    if arn.partition.is_empty() || arn.service.is_empty() || arn.resource.is_empty() {
        return None;
    }
    Some(arn)
}

/// The account id of an ARN, when it has one (S3 ARNs, for one, do not).
pub fn account_of(arn: &str) -> Option<&str> {
    parse_arn(arn).map(|a| a.account).filter(|a| is_account(a))
}

/// The AWS partition a region belongs to.
pub fn partition_of(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// The DNS suffix of a region's service endpoints.
pub fn dns_suffix(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    }
}

pub fn is_account(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// `arn:<partition>:iam::<account>:root`, the principal that stands for a whole account.
pub fn account_root(partition: &str, account: &str) -> String {
    format!("arn:{partition}:iam::{account}:root")
}

/// The ARN of a pipeline (when AWS did not say it).
pub fn pipeline_arn(region: &str, account: &str, name: &str) -> String {
    format!(
        "arn:{}:codepipeline:{region}:{account}:{name}",
        partition_of(region)
    )
}

/// The ARN of a CodeCommit repository.
pub fn repository_arn(region: &str, account: &str, repository: &str) -> String {
    format!(
        "arn:{}:codecommit:{region}:{account}:{repository}",
        partition_of(region)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_split_into_their_parts() {
        let a = parse_arn("arn:aws:kms:eu-west-1:111111111111:key/abc").unwrap();
        assert_eq!(
            (a.partition, a.service, a.region, a.account, a.resource),
            ("aws", "kms", "eu-west-1", "111111111111", "key/abc")
        );
        assert!(parse_arn("arn:aws:iam").is_none());
        assert!(parse_arn("nope:aws:iam::1:role/x").is_none());
    }

    #[test]
    fn accounts_come_from_arns_that_have_one() {
        assert_eq!(
            account_of("arn:aws:iam::222222222222:role/x"),
            Some("222222222222")
        );
        assert_eq!(
            account_of("arn:aws-cn:codepipeline:cn-north-1:123456789012:p"),
            Some("123456789012")
        );
        assert_eq!(account_of("arn:aws:s3:::bucket"), None);
    }

    #[test]
    fn partitions_and_suffixes_follow_the_region() {
        assert_eq!(partition_of("cn-north-1"), "aws-cn");
        assert_eq!(partition_of("us-gov-east-1"), "aws-us-gov");
        assert_eq!(partition_of("eu-west-1"), "aws");
        assert_eq!(dns_suffix("cn-northwest-1"), "amazonaws.com.cn");
        assert_eq!(dns_suffix("us-gov-west-1"), "amazonaws.com");
        assert_eq!(
            pipeline_arn("cn-north-1", "111111111111", "p"),
            "arn:aws-cn:codepipeline:cn-north-1:111111111111:p"
        );
        assert_eq!(
            repository_arn("us-gov-west-1", "222222222222", "r"),
            "arn:aws-us-gov:codecommit:us-gov-west-1:222222222222:r"
        );
        assert_eq!(
            account_root("aws-cn", "111111111111"),
            "arn:aws-cn:iam::111111111111:root"
        );
    }
}
