//! Ports a function must never use. Each function is given only what it
//! needs (and its IAM role allows only that): start and close publish no
//! events, the callback calls no provider.

use crate::ports::{EventQueue, ProviderError, QueueError, StreamProvider};
use wire::deepcleer::{CloseResponse, MediaKind, StartRequest, SyncResponse};
use wire::event::QueueEvent;
use wire::zego::{StartCensorAudio, ZegoResponse};

/// For functions that publish nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoQueue;

impl EventQueue for NoQueue {
    async fn publish(&self, _: &QueueEvent) -> Result<(), QueueError> {
        Err(QueueError("this function has no queue".into()))
    }
}

/// For functions that call no provider.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProvider;

impl StreamProvider for NoProvider {
    async fn start(&self, _: &StartRequest) -> Result<SyncResponse, ProviderError> {
        Err(ProviderError::Unreachable("this function calls no provider".into()))
    }

    async fn close(&self, _: &str, _: MediaKind) -> Result<CloseResponse, ProviderError> {
        Err(ProviderError::Unreachable("this function calls no provider".into()))
    }

    async fn zego_start(&self, _: &StartCensorAudio) -> Result<ZegoResponse, ProviderError> {
        Err(ProviderError::Unreachable("this function calls no provider".into()))
    }

    async fn zego_stop(&self, _: &str) -> Result<ZegoResponse, ProviderError> {
        Err(ProviderError::Unreachable("this function calls no provider".into()))
    }
}
