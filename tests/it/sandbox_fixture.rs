//! The sandbox fixture itself: it starts, seeds the scenario, logs the calls it
//! receives, and its CodePipeline answers parse with the Rust SDK the binary uses.

use aws_credential_types::Credentials;
use aws_sdk_codepipeline::types::{
    ActionCategory, ActionDeclaration, ActionOwner, ActionTypeId, ArtifactStore, ArtifactStoreType,
    EncryptionKey, EncryptionKeyType, InputArtifact, OutputArtifact, PipelineDeclaration,
    PipelineExecutionStatus, PipelineType, StageDeclaration,
};

use crate::support::sandbox::{Call, Sandbox, Scenario};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

async fn sdk_config(sandbox: &Sandbox) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(sandbox.endpoint())
        .region(aws_config::Region::new("eu-west-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(1))
        .load()
        .await
}

fn declaration(s: &Scenario, name: &str) -> PipelineDeclaration {
    let action = |name: &str, category, provider: &str| {
        ActionTypeId::builder()
            .category(category)
            .owner(ActionOwner::Aws)
            .provider(provider)
            .version("1")
            .build()
            .map(|t| (name.to_owned(), t))
            .expect("action type")
    };
    let (source_name, source_type) = action("Source", ActionCategory::Source, "CodeCommit");
    let (build_name, build_type) = action("Build", ActionCategory::Build, "CodeBuild");
    let source = StageDeclaration::builder()
        .name("Source")
        .actions(
            ActionDeclaration::builder()
                .name(source_name)
                .action_type_id(source_type)
                .role_arn(&s.source_role_arn)
                .configuration("RepositoryName", &s.repository)
                .configuration("BranchName", "main")
                .configuration("PollForSourceChanges", "false")
                .output_artifacts(
                    OutputArtifact::builder()
                        .name("SourceArtifact")
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let build = StageDeclaration::builder()
        .name("Build")
        .actions(
            ActionDeclaration::builder()
                .name(build_name)
                .action_type_id(build_type)
                .configuration("ProjectName", &s.build_project)
                .input_artifacts(
                    InputArtifact::builder()
                        .name("SourceArtifact")
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    PipelineDeclaration::builder()
        .name(name)
        .role_arn(&s.service_role_arn)
        .pipeline_type(PipelineType::V2)
        .artifact_store(
            ArtifactStore::builder()
                .r#type(ArtifactStoreType::S3)
                .location(&s.bucket)
                .encryption_key(
                    EncryptionKey::builder()
                        .id(&s.kms_key_arn)
                        .r#type(EncryptionKeyType::Kms)
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .stages(source)
        .stages(build)
        .build()
        .unwrap()
}

#[test]
fn starts_and_seeds_the_cross_account_scenario() {
    let sandbox = Sandbox::start();
    assert!(sandbox.endpoint().starts_with("http://127.0.0.1:"));
    let s = sandbox.seed();
    assert_eq!(s.pipeline_account, "123456789012");
    assert_eq!(s.source_account, "222222222222");
    assert_eq!(s.region, "eu-west-1");
    assert_eq!(
        s.service_role_arn,
        "arn:aws:iam::123456789012:role/xpipeline-demo-codepipeline"
    );
    assert!(
        s.kms_key_arn
            .starts_with("arn:aws:kms:eu-west-1:123456789012:key/"),
        "{}",
        s.kms_key_arn
    );
    assert_eq!(s.bucket, "xpipeline-demo-artifacts-123456789012");
    assert_eq!(s.repository, "xpipeline-demo");
    assert_eq!(
        s.source_role_arn,
        "arn:aws:iam::222222222222:role/xpipeline-demo-cross-account"
    );
    assert_eq!(s.build_project, "xpipeline-demo-build");
    assert_eq!(sandbox.seed(), s, "seeding twice changes nothing");

    let repo = sandbox.repo_dir(&s.source_account, &s.repository);
    assert!(
        repo.join("HEAD").is_file(),
        "{} is a bare repository",
        repo.display()
    );
    assert_eq!(
        sandbox.branch_head(&s.source_account, &s.repository, "main"),
        None
    );

    let env = sandbox.env();
    let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    assert_eq!(get("AWS_ENDPOINT_URL"), Some(sandbox.endpoint()));
    assert_eq!(get("AWS_ACCESS_KEY_ID").as_deref(), Some("testing"));
    assert_eq!(get("AWS_MAX_ATTEMPTS").as_deref(), Some("2"));
    let config = get("AWS_CONFIG_FILE").expect("AWS_CONFIG_FILE");
    assert_eq!(std::fs::read_to_string(config).unwrap(), "");
}

#[test]
fn logs_the_calls_it_receives() {
    let sandbox = Sandbox::start();
    let s = sandbox.seed();
    assert_eq!(
        sandbox.calls(),
        Vec::<Call>::new(),
        "seeding makes no API call"
    );
    runtime().block_on(async {
        let conf = sdk_config(&sandbox).await;
        let sts = aws_sdk_sts::Client::new(&conf);
        let me = sts.get_caller_identity().send().await.unwrap();
        assert_eq!(me.account(), Some("123456789012"));
        let cp = aws_sdk_codepipeline::Client::new(&conf);
        cp.list_pipelines().send().await.unwrap();
        cp.list_pipelines().send().await.unwrap();
        let assumed = sts
            .assume_role()
            .role_arn(&s.source_role_arn)
            .role_session_name("fixture-test")
            .send()
            .await
            .unwrap();
        assert!(assumed.credentials().is_some());
    });
    assert_eq!(sandbox.count("ListPipelines"), 2);
    assert_eq!(sandbox.count("GetCallerIdentity"), 1);
    let calls = sandbox.calls();
    assert_eq!(
        calls[0],
        Call {
            service: "sts".into(),
            action: "GetCallerIdentity".into(),
            account: "123456789012".into(),
            status: 200,
        }
    );
    assert_eq!(calls.last().map(|c| c.action.as_str()), Some("AssumeRole"));
    sandbox.clear_calls();
    assert_eq!(sandbox.count("ListPipelines"), 0);
}

#[test]
fn executions_parse_with_the_sdk_and_obey_the_control_api() {
    let sandbox = Sandbox::start_with_stage_seconds(0.2);
    let s = sandbox.seed();
    runtime().block_on(async {
        let cp = aws_sdk_codepipeline::Client::new(&sdk_config(&sandbox).await);
        cp.create_pipeline()
            .pipeline(declaration(&s, "fixture"))
            .send()
            .await
            .unwrap();
        let got = cp.get_pipeline().name("fixture").send().await.unwrap();
        assert!(got.metadata().and_then(|m| m.created()).is_some());

        // CreatePipeline started an execution; the branch does not exist yet.
        let first = cp
            .list_pipeline_executions()
            .pipeline_name("fixture")
            .send()
            .await
            .unwrap();
        let first = first.pipeline_execution_summaries()[0]
            .pipeline_execution_id()
            .unwrap()
            .to_owned();
        let status = |id: String| {
            let cp = cp.clone();
            async move {
                for _ in 0..100 {
                    let e = cp
                        .get_pipeline_execution()
                        .pipeline_name("fixture")
                        .pipeline_execution_id(&id)
                        .send()
                        .await
                        .unwrap();
                    let st = e.pipeline_execution().unwrap().status().unwrap().clone();
                    if st != PipelineExecutionStatus::InProgress {
                        return st;
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
                panic!("execution {id} did not end");
            }
        };
        assert_eq!(status(first.clone()).await, PipelineExecutionStatus::Failed);
        let state = cp
            .get_pipeline_state()
            .name("fixture")
            .send()
            .await
            .unwrap();
        let source = &state.stage_states()[0].action_states()[0];
        let err = source
            .latest_execution()
            .and_then(|e| e.error_details())
            .and_then(|d| d.message())
            .unwrap();
        assert!(err.contains("no branch named main"), "{err}");

        // An injected failure shows in GetPipelineState's errorDetails.
        sandbox.inject_failure("fixture", "Source", "injected by the fixture test");
        let second = cp
            .start_pipeline_execution()
            .name("fixture")
            .client_request_token("fixture-token-1")
            .send()
            .await
            .unwrap()
            .pipeline_execution_id()
            .unwrap()
            .to_owned();
        let again = cp
            .start_pipeline_execution()
            .name("fixture")
            .client_request_token("fixture-token-1")
            .send()
            .await
            .unwrap();
        assert_eq!(again.pipeline_execution_id(), Some(second.as_str()));
        assert_eq!(
            status(second.clone()).await,
            PipelineExecutionStatus::Failed
        );
        let state = cp
            .get_pipeline_state()
            .name("fixture")
            .send()
            .await
            .unwrap();
        let latest = state.stage_states()[0].action_states()[0]
            .latest_execution()
            .unwrap();
        assert_eq!(
            latest.error_details().and_then(|d| d.message()),
            Some("injected by the fixture test")
        );
        assert!(latest.last_status_change().is_some());

        let actions = cp
            .list_action_executions()
            .pipeline_name("fixture")
            .filter(
                aws_sdk_codepipeline::types::ActionExecutionFilter::builder()
                    .pipeline_execution_id(&second)
                    .build(),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(actions.action_execution_details().len(), 1);
    });
    assert_eq!(sandbox.count("CreatePipeline"), 1);
    assert_eq!(sandbox.count("StartPipelineExecution"), 2);
    assert!(sandbox.count("GetPipelineExecution") >= 2);
    assert_eq!(sandbox.executions("fixture").len(), 2);
}
