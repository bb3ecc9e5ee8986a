//! Micro-benchmarks of the token path's parts, in process: the ES256
//! verification alone (the floor), a whole host-token verification, a
//! Twilio token mint, and one `/v1/token` through the router without a
//! socket. Run with `cargo bench -p backend --bench token_path`; prints
//! one `MICRO name=… ns_per_op=…` line each (median of 7 batches).

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use backend::app::{AppState, Deps};
use backend::config::{self, RawSettings, Settings, TwilioRequirement};
use backend::domain::{DeviceId, Identity};
use backend::secret::Secret;
use backend::tokens::es256::{KeySet, SigningKey};
use backend::tokens::host_jwt::{self, VerifyOptions};
use backend::tokens::twilio_token::Minter;

fn measure(name: &str, mut op: impl FnMut()) {
    // calibrate a batch of about 100 ms
    let mut n = 1u64;
    loop {
        let start = Instant::now();
        for _ in 0..n {
            op();
        }
        if start.elapsed() > Duration::from_millis(100) {
            break;
        }
        n *= 2;
    }
    let mut per_op: Vec<f64> = (0..7)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..n {
                op();
            }
            start.elapsed().as_nanos() as f64 / n as f64
        })
        .collect();
    per_op.sort_by(f64::total_cmp);
    println!("MICRO name={name} ns_per_op={:.0} batch={n}", per_op[3]);
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let key = SigningKey::generate()?;
    let now = 1_800_000_000u64;
    let claims = serde_json::json!({ "sub": "user-42", "contexts": ["general", "shipment-42"], "exp": now + 3600 });
    let token = host_jwt::sign(&key, "bench-kid", &claims)?;
    let mut keys = KeySet::default();
    keys.insert("bench-kid", key.public_key());
    let public = key.public_key();
    let (input, sig) = token.rsplit_once('.').ok_or("token")?;
    let sig: [u8; 64] = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, sig)?
        .try_into()
        .map_err(|_| "signature length")?;

    measure("es256_verify_only", || {
        assert!(public.verify(black_box(input.as_bytes()), black_box(&sig)))
    });
    let options = VerifyOptions::default();
    measure("host_token_verify", || {
        black_box(host_jwt::verify(black_box(&token), &keys, &options, now).ok());
    });
    let minter = Minter::new(
        "AC0123456789abcdef0123456789abcdef",
        "SK0123456789abcdef0123456789abcdef",
        &Secret::new("bench-secret".into()),
        "IS0123456789abcdef0123456789abcdef",
        Duration::from_secs(3600),
    )?;
    let identity = Identity::parse("user-42")?;
    let device = DeviceId::web();
    measure("twilio_token_mint", || {
        black_box(minter.mint(&identity, &device, now));
    });

    // One /v1/token through the router (JSON in and out, no socket).
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    // Twilio settings, with the stand-in as Twilio: the first renewal aligns
    // the user's rooms (one REST listing); the measured ones find them
    // aligned, as a tab's hourly renewal does, and make no REST call.
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
    let standin_url = format!("http://{}", listener.local_addr()?);
    runtime.spawn(async move {
        let _ = axum::serve(listener, twilio_standin::router(twilio_standin::Standin::default())).await;
    });
    let mut raw = RawSettings::env_named();
    raw.set(config::JWKS_URL, "http://127.0.0.1:9/unused")
        .set(config::TWILIO_ACCOUNT_SID, "AC0123456789abcdef0123456789abcdef")
        .set(config::TWILIO_API_KEY, "SK0123456789abcdef0123456789abcdef")
        .set(config::TWILIO_API_SECRET, "bench-secret")
        .set(config::TWILIO_AUTH_TOKEN, "bench-auth-token")
        .set(config::TWILIO_CHAT_SERVICE_SID, "IS0123456789abcdef0123456789abcdef")
        .set(config::TWILIO_BASE_URL, standin_url);
    let settings = Settings::parse(&raw, TwilioRequirement::Optional)?;
    let mut deps = Deps::new(backend::http_client::build()?);
    deps.fixed_keys = Some(keys.clone());
    let state = AppState::new(&settings, deps)?;
    let live_token = host_jwt::sign(
        &key,
        "bench-kid",
        &serde_json::json!({ "sub": "user-42", "contexts": ["general"], "exp": u64::MAX / 2 }),
    )?;
    let router = backend::api::router(Arc::new(state), backend::api::HttpOptions::from_settings(&settings));
    let body = serde_json::json!({ "token": live_token, "deviceId": "bench" }).to_string();
    let renew = || {
        use tower::ServiceExt as _;
        let request = http::Request::post("/v1/token")
            .header("content-type", "application/json")
            .body(axum::body::Body::from(body.clone()))
            .ok()?;
        runtime
            .block_on(router.clone().oneshot(request))
            .ok()
            .map(|r| r.status().as_u16())
    };
    assert_eq!(renew(), Some(200), "the first renewal aligns through the stand-in");
    measure("v1_token_in_process", || {
        assert_eq!(black_box(renew()), Some(200));
    });
    Ok(())
}
