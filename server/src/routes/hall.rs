//! The hall's setup page (`/hall`): the HTTPS address as a QR code, the authority's
//! certificate to download, and how to trust it on each kind of tablet. Served over HTTPS
//! and, before a tablet trusts the authority, over plain HTTP by the redirect listener.

use std::sync::{Arc, RwLock};

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use crate::hall::HallCerts;
use shared::report::esc;

/// What the page shows; replaced when a new server certificate is issued.
#[derive(Debug, Clone)]
pub struct HallPage {
    /// The certificates.
    pub certs: HallCerts,
    /// The HTTPS port.
    pub port: u16,
}

/// Shared, so the address watcher can update it.
pub type SharedHall = Arc<RwLock<HallPage>>;

impl HallPage {
    /// The HTTPS addresses, the most useful first: LAN IPv4 addresses, then names.
    pub fn urls(&self) -> Vec<String> {
        let mut names: Vec<&String> = self
            .certs
            .names
            .iter()
            .filter(|n| !matches!(n.as_str(), "localhost" | "127.0.0.1" | "::1"))
            .collect();
        names.sort_by_key(|n| (n.parse::<std::net::Ipv4Addr>().is_err(), n.contains(':')));
        names
            .into_iter()
            .map(|n| {
                if n.contains(':') {
                    format!("https://[{n}]:{}/", self.port)
                } else {
                    format!("https://{n}:{}/", self.port)
                }
            })
            .collect()
    }
}

/// The page's routes (`/hall`, `/hall/ca.crt`, `/hall/ca.pem`, `/hall/thidua.mobileconfig`).
pub fn routes(hall: SharedHall) -> Router {
    Router::new()
        .route("/hall", get(page))
        .route("/hall/ca.crt", get(ca_crt))
        .route("/hall/ca.pem", get(ca_pem))
        .route("/hall/thidua.mobileconfig", get(mobileconfig))
        .with_state(hall)
}

#[derive(Deserialize)]
struct Lang {
    lang: Option<String>,
}

fn read(h: &SharedHall) -> HallPage {
    h.read().unwrap_or_else(|e| e.into_inner()).clone()
}

fn qr_svg(text: &str) -> String {
    qrcode::QrCode::new(text.as_bytes())
        .map(|c| {
            c.render::<qrcode::render::svg::Color<'_>>()
                .min_dimensions(240, 240)
                .quiet_zone(true)
                .build()
        })
        .unwrap_or_default()
}

async fn page(State(h): State<SharedHall>, Query(q): Query<Lang>) -> Html<String> {
    let p = read(&h);
    let en = q.lang.as_deref() == Some("en");
    let urls = p.urls();
    let main = urls.first().cloned().unwrap_or_default();
    let t = |vi: &'static str, e: &'static str| if en { e } else { vi };
    let others: String = urls
        .iter()
        .skip(1)
        .map(|u| format!("<li><a href=\"{0}\">{0}</a></li>", esc(u)))
        .collect();
    let steps = if en { STEPS_EN } else { STEPS_VI };
    Html(format!(
        "<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{title}</title>\
<style>{CSS}</style></head><body><main>\
<p class=\"lang\"><a href=\"?lang={other_code}\">{other}</a></p>\
<h1>{title}</h1><p>{intro}</p>\
<figure>{qr}<figcaption><a href=\"{main_e}\">{main_e}</a></figcaption></figure>\
<h2>{h_download}</h2><p class=\"downloads\">\
<a class=\"button\" href=\"/hall/ca.crt\">{crt}</a> \
<a class=\"button\" href=\"/hall/thidua.mobileconfig\">{ipad}</a> \
<a class=\"button\" href=\"/hall/ca.pem\">.pem</a></p>\
<p class=\"fingerprint\">{fp_label}: <code>{fp}</code></p>\
{steps}\
<h2>{h_other}</h2><ul>{others}</ul>\
</main></body></html>",
        lang = if en { "en" } else { "vi" },
        title = t(
            "Cài đặt máy tính bảng cho hội trường",
            "Set up a tablet for the hall"
        ),
        other_code = if en { "vi" } else { "en" },
        other = if en { "Tiếng Việt" } else { "English" },
        intro = t(
            "Làm một lần cho mỗi máy tính bảng: cài chứng chỉ của máy chủ hội trường, rồi mở địa chỉ bên dưới. Khi đó ứng dụng làm việc được cả khi mất Wi-Fi.",
            "Once per tablet: install the hall server's certificate, then open the address below. The app then keeps working when the Wi-Fi drops."
        ),
        qr = qr_svg(&main),
        main_e = esc(&main),
        h_download = t("1. Tải chứng chỉ", "1. Download the certificate"),
        crt = t(
            "Chứng chỉ (.crt) – Android, Windows",
            "Certificate (.crt) – Android, Windows"
        ),
        ipad = t(
            "Hồ sơ cho iPad (.mobileconfig)",
            "iPad profile (.mobileconfig)"
        ),
        fp_label = t(
            "Dấu vân tay SHA-256 để đối chiếu",
            "SHA-256 fingerprint to compare"
        ),
        fp = fingerprint(&p.certs.ca_der),
        h_other = t(
            "Các địa chỉ khác của máy chủ",
            "The server's other addresses"
        ),
    ))
}

fn fingerprint(der: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn download(body: Vec<u8>, mime: &'static str, name: &'static str) -> Response {
    let mut res = body.into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    res
}

async fn ca_crt(State(h): State<SharedHall>) -> Response {
    download(
        read(&h).certs.ca_der,
        "application/x-x509-ca-cert",
        "thidua-hoitruong.crt",
    )
}

async fn ca_pem(State(h): State<SharedHall>) -> Response {
    download(
        read(&h).certs.ca_pem.into_bytes(),
        "application/x-pem-file",
        "thidua-hoitruong.pem",
    )
}

async fn mobileconfig(State(h): State<SharedHall>) -> Response {
    use base64::Engine;
    let der = read(&h).certs.ca_der;
    let b64 = base64::engine::general_purpose::STANDARD.encode(&der);
    let id = fingerprint(&der).replace(':', "");
    let uuid = |salt: &str| {
        use sha2::{Digest, Sha256};
        let d = Sha256::digest(format!("{salt}{id}").as_bytes());
        uuid::Builder::from_random_bytes(d[..16].try_into().unwrap_or([0; 16]))
            .into_uuid()
            .to_string()
            .to_uppercase()
    };
    let xml = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0"><dict>
<key>PayloadContent</key><array><dict>
<key>PayloadCertificateFileName</key><string>thidua-hoitruong.crt</string>
<key>PayloadContent</key><data>{b64}</data>
<key>PayloadDescription</key><string>Chứng chỉ của máy chủ hội trường ThiĐua</string>
<key>PayloadDisplayName</key><string>ThiĐua – máy chủ hội trường</string>
<key>PayloadIdentifier</key><string>vn.thidua.hall.ca.{id}</string>
<key>PayloadType</key><string>com.apple.security.root</string>
<key>PayloadUUID</key><string>{cert_uuid}</string>
<key>PayloadVersion</key><integer>1</integer>
</dict></array>
<key>PayloadDisplayName</key><string>ThiĐua – hội trường</string>
<key>PayloadIdentifier</key><string>vn.thidua.hall.{id}</string>
<key>PayloadRemovalDisallowed</key><false/>
<key>PayloadType</key><string>Configuration</string>
<key>PayloadUUID</key><string>{profile_uuid}</string>
<key>PayloadVersion</key><integer>1</integer>
</dict></plist>
"#,
        cert_uuid = uuid("cert"),
        profile_uuid = uuid("profile"),
    );
    download(
        xml.into_bytes(),
        "application/x-apple-aspen-config",
        "thidua-hoitruong.mobileconfig",
    )
}

const CSS: &str = "body{font:18px/1.5 system-ui,sans-serif;margin:0;color:#1b1b1b}\
main{max-width:46rem;margin:0 auto;padding:1rem}h1{color:#b71c1c;font-size:1.6rem}\
figure{text-align:center;margin:1rem 0}figure svg{width:240px;height:240px}\
figcaption{font-size:1.3rem;word-break:break-all}\
.button{display:inline-block;min-height:48px;line-height:48px;padding:0 1rem;margin:.25rem 0;\
background:#b71c1c;color:#fff;border-radius:8px;text-decoration:none}\
.lang{text-align:right}code{word-break:break-all;font-size:.85rem}\
ol li{margin:.3rem 0}section{border-top:1px solid #ddd;margin-top:1rem}";

const STEPS_VI: &str = "<h2>2. Tin cậy chứng chỉ</h2>\
<section><h3>Android (Chrome)</h3><ol>\
<li>Bấm «Chứng chỉ (.crt)» để tải về.</li>\
<li>Mở Cài đặt → Bảo mật → Mã hóa và thông tin xác thực → Cài đặt chứng chỉ → Chứng chỉ CA.</li>\
<li>Chọn «Vẫn cài đặt», chọn tệp thidua-hoitruong.crt vừa tải.</li>\
<li>Mở lại Chrome và vào địa chỉ https ở trên.</li></ol></section>\
<section><h3>iPad (Safari)</h3><ol>\
<li>Mở trang này bằng Safari, bấm «Hồ sơ cho iPad», chọn «Cho phép».</li>\
<li>Mở Cài đặt → Đã tải về hồ sơ → Cài đặt, nhập mật mã máy.</li>\
<li>Cài đặt → Cài đặt chung → Giới thiệu → Cài đặt tin cậy chứng nhận: bật «ThiĐua – máy chủ hội trường».</li>\
<li>Mở địa chỉ https ở trên trong Safari.</li></ol></section>\
<section><h3>Windows (Chrome, Edge)</h3><ol>\
<li>Tải «Chứng chỉ (.crt)», mở tệp, bấm «Install Certificate…».</li>\
<li>Chọn «Current User» → «Place all certificates in the following store» → «Trusted Root Certification Authorities».</li>\
<li>Khởi động lại trình duyệt và mở địa chỉ https ở trên.</li></ol></section>\
<p>Đối chiếu dấu vân tay trên máy tính bảng với dòng ở trên trước khi tin cậy.</p>";

const STEPS_EN: &str = "<h2>2. Trust the certificate</h2>\
<section><h3>Android (Chrome)</h3><ol>\
<li>Tap “Certificate (.crt)” to download it.</li>\
<li>Open Settings → Security → Encryption &amp; credentials → Install a certificate → CA certificate.</li>\
<li>Choose “Install anyway” and pick thidua-hoitruong.crt.</li>\
<li>Reopen Chrome and go to the https address above.</li></ol></section>\
<section><h3>iPad (Safari)</h3><ol>\
<li>Open this page in Safari, tap “iPad profile”, then “Allow”.</li>\
<li>Open Settings → Profile Downloaded → Install, enter the passcode.</li>\
<li>Settings → General → About → Certificate Trust Settings: turn on “ThiĐua – máy chủ hội trường”.</li>\
<li>Open the https address above in Safari.</li></ol></section>\
<section><h3>Windows (Chrome, Edge)</h3><ol>\
<li>Download “Certificate (.crt)”, open it, click “Install Certificate…”.</li>\
<li>Choose “Current User” → “Place all certificates in the following store” → “Trusted Root Certification Authorities”.</li>\
<li>Restart the browser and open the https address above.</li></ol></section>\
<p>Compare the fingerprint shown on the tablet with the line above before trusting it.</p>";
