//! A client for the grpc example.
//!
//! ```text
//! grpc-client ADDR hello NAME   # SayHello, prints the greeting
//! grpc-client ADDR ticks        # Ticks every 100 ms: prints each, then how the stream ended
//! grpc-client ADDR health       # Health/Watch of the whole server: prints each status
//! ```

use canstop_examples::grpc::greeter_client::GreeterClient;
use canstop_examples::grpc::{HelloRequest, TicksRequest};
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:50051".to_owned());
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))?
        .connect()
        .await?;
    match args.next().as_deref() {
        Some("hello") => {
            let name = args.next().unwrap_or_else(|| "world".to_owned());
            let request = HelloRequest { name };
            let reply = GreeterClient::new(channel).say_hello(request).await?;
            println!("{}", reply.into_inner().message);
        }
        Some("ticks") => {
            let request = TicksRequest { interval_ms: 100 };
            let mut ticks = GreeterClient::new(channel)
                .ticks(request)
                .await?
                .into_inner();
            loop {
                match ticks.message().await {
                    Ok(Some(tick)) => println!("tick {}", tick.n),
                    Ok(None) => break println!("ended"),
                    Err(status) => {
                        break println!("ended: {:?}: {}", status.code(), status.message())
                    }
                }
            }
        }
        Some("health") => {
            let request = HealthCheckRequest::default(); // service "": the whole server
            let mut statuses = HealthClient::new(channel)
                .watch(request)
                .await?
                .into_inner();
            while let Some(health) = statuses.message().await? {
                println!("{}", health.status().as_str_name());
            }
            println!("ended");
        }
        _ => return Err("usage: grpc-client ADDR (hello NAME | ticks | health)".into()),
    }
    Ok(())
}
