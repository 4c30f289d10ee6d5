//! `close`: closes a moderation task. The handler lands with issue 4; until
//! then the function answers 501 so a deployment is never mistaken for working.
use lambda_http::{Body, Error, Request, Response, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    run(service_fn(|_: Request| async {
        Ok::<_, Error>(
            Response::builder()
                .status(501)
                .body(Body::from("close: not built yet"))?,
        )
    }))
    .await
}
