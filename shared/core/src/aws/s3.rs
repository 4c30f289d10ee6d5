//! The evidence archive on S3: write-once objects (`If-None-Match: *`, so a
//! retried archive never writes a second version), encrypted with the
//! deployment's KMS key when it names one (else SSE-S3), sizes of what is
//! there (`HeadObject`), and presigned links.

use crate::ports::{ArchiveError, EvidenceArchive, Stored};
use aws_sdk_s3::Client;
use aws_sdk_s3::error::SdkError;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ServerSideEncryption;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct S3Archive {
    client: Client,
    bucket: String,
    kms_key_id: Option<String>,
}

impl S3Archive {
    pub fn new(client: Client, bucket: impl Into<String>, kms_key_id: Option<String>) -> Self {
        S3Archive {
            client,
            bucket: bucket.into(),
            kms_key_id,
        }
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }
}

fn failed<E: std::error::Error + 'static, R: std::fmt::Debug>(error: SdkError<E, R>) -> ArchiveError {
    ArchiveError(format!("{}", aws_sdk_s3::error::DisplayErrorContext(error)))
}

impl EvidenceArchive for S3Archive {
    async fn put_new(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<Stored, ArchiveError> {
        let mut request = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .if_none_match("*")
            .body(ByteStream::from(bytes));
        request = match &self.kms_key_id {
            Some(key_id) => request
                .server_side_encryption(ServerSideEncryption::AwsKms)
                .ssekms_key_id(key_id)
                .bucket_key_enabled(true),
            None => request.server_side_encryption(ServerSideEncryption::Aes256),
        };
        match request.send().await {
            Ok(_) => Ok(Stored::Written),
            // Written before, by an earlier attempt at the same event.
            Err(SdkError::ServiceError(service)) if service.raw().status().as_u16() == 412 => Ok(Stored::AlreadyThere),
            Err(error) => Err(failed(error)),
        }
    }

    async fn stored_size(&self, key: &str) -> Result<Option<u64>, ArchiveError> {
        match self.client.head_object().bucket(&self.bucket).key(key).send().await {
            Ok(head) => Ok(Some(head.content_length().unwrap_or(0).max(0) as u64)),
            Err(SdkError::ServiceError(service)) if service.raw().status().as_u16() == 404 => Ok(None),
            Err(error) => Err(failed(error)),
        }
    }

    async fn link(&self, key: &str, valid_for: Duration) -> Result<String, ArchiveError> {
        let config = PresigningConfig::expires_in(valid_for).map_err(|error| ArchiveError(error.to_string()))?;
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .presigned(config)
            .await
            .map_err(failed)?;
        Ok(request.uri().to_owned())
    }
}
