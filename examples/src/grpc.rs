//! The grpc example's service: its messages, and the server and the client that tonic-build
//! generates from its declaration in `build.rs` (no `.proto` file, so no protoc). The same
//! service as a `.proto` (for grpcurl's `-proto`, say):
//!
//! ```proto
//! syntax = "proto3";
//! package example;
//!
//! service Greeter {
//!   rpc SayHello(HelloRequest) returns (HelloReply);
//!   // A tick every `interval_ms` until the client leaves or the server stops.
//!   rpc Ticks(TicksRequest) returns (stream Tick);
//! }
//!
//! message HelloRequest { string name = 1; }
//! message HelloReply { string message = 1; }
//! message TicksRequest { uint64 interval_ms = 1; }
//! message Tick { uint64 n = 1; }
//! ```

/// `SayHello`'s request.
#[derive(Clone, PartialEq, prost::Message)]
pub struct HelloRequest {
    /// Who to greet.
    #[prost(string, tag = "1")]
    pub name: String,
}

/// `SayHello`'s answer.
#[derive(Clone, PartialEq, prost::Message)]
pub struct HelloReply {
    /// The greeting.
    #[prost(string, tag = "1")]
    pub message: String,
}

/// `Ticks`' request.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TicksRequest {
    /// The time between two ticks.
    #[prost(uint64, tag = "1")]
    pub interval_ms: u64,
}

/// One tick of a `Ticks` stream.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Tick {
    /// Its number, from 1.
    #[prost(uint64, tag = "1")]
    pub n: u64,
}

include!(concat!(env!("OUT_DIR"), "/example.Greeter.rs"));
