"""Local AWS sandbox for cargo-xpipeline's tests and demo.

moto's server (STS, IAM, KMS, S3, CodeCommit, CodeBuild, CodePipeline) extended
in-process with the CodeCommit git smart-HTTP endpoint, CodePipeline executions
and a control API under /_sandbox/.
"""
