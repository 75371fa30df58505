//! Two small server pages that keep the app's shell small: a block's documents (the projector
//! screen, the minutes with the meeting's place, date, chair and secretary, the printed
//! covenant, the workbook and CSV), and the import of a changes file carried from a device
//! with no network (`changes_file`), used on any connected machine or at the central office.
//!
//! The pages carry no token: the browser sends the page session's HttpOnly cookie, which
//! the app starts before it opens them, and their writes add the `x-thidua-page` header.

use uuid::Uuid;

use crate::collation;
use crate::model::Block;
use crate::report::esc;

const CSS: &str = "body{font:18px/1.45 system-ui,'Segoe UI',Roboto,sans-serif;margin:0;padding:16px;max-width:760px;color:#1b2733}h1{font-size:1.5em;margin:.2em 0}h2{font-size:1.15em;margin:1.2em 0 .4em}a.button,button{display:inline-flex;align-items:center;min-height:48px;padding:0 18px;margin:4px 8px 4px 0;border-radius:8px;border:1px solid #1d5fa8;background:#1d5fa8;color:#fff;text-decoration:none;font:inherit}a.button.secondary{background:#fff;color:#1d5fa8}label{display:block;font-weight:600;margin:10px 0 4px}input{font:inherit;min-height:44px;width:100%;box-sizing:border-box;padding:4px 10px;border:1px solid #8795a1;border-radius:6px}input[type=file]{border:0;padding:0}.muted{color:#52606d}#result,#saved{margin-top:12px;font-weight:600}#result.error,#saved.error{color:#b42318}fieldset{border:1px solid #8795a1;border-radius:6px;margin:12px 0}label.check{display:flex;gap:10px;align-items:center;font-weight:400;min-height:44px;margin:0}label.check input{width:24px;min-height:24px}";

/// The meeting form saved with `PUT meeting` (what the server refuses is said in both
/// languages).
const LINKS_JS: &str = "(()=>{const f=document.getElementById('meeting'),r=document.getElementById('saved');if(!f)return;f.onsubmit=async e=>{e.preventDefault();const v=n=>f.elements[n].value.trim(),absent=[...f.querySelectorAll('input[name=present]')].filter(c=>!c.checked).map(c=>c.value);r.className='';r.textContent='Đang lưu… / Saving…';try{const res=await fetch(new URL('meeting',location.href),{method:'PUT',headers:{'content-type':'application/json','x-thidua-page':'1'},body:JSON.stringify({place:v('place'),date:v('date'),chair:v('chair'),secretary:v('secretary'),absent})});const b=await res.json();if(res.ok){r.textContent='Đã lưu; biên bản in theo các thông tin này / Saved; the minutes print these details'}else{r.className='error';r.textContent=b.message_vi+' / '+b.message}}catch(x){r.className='error';r.textContent='Không lưu được / Could not save: '+x.message}}})();";

/// Posts the chosen file to `changes-file` and says what happened, in Vietnamese and English.
const IMPORT_JS: &str = "(()=>{const i=document.getElementById('file'),r=document.getElementById('result');i.onchange=async()=>{const f=i.files[0];if(!f)return;r.className='';r.textContent='Đang nhập… / Importing…';try{const res=await fetch(new URL('changes-file',location.href),{method:'POST',headers:{'content-type':'application/json','x-thidua-page':'1'},body:await f.text()});const b=await res.json();if(res.ok){r.textContent=`Đã nhập: ${b.applied} · đã có trước ${b.duplicate} · bị từ chối ${b.rejected} / Imported: ${b.applied} · already there ${b.duplicate} · refused ${b.rejected}`}else{r.className='error';r.textContent=b.message_vi+' / '+b.message}}catch(e){r.className='error';r.textContent='Không gửi được tệp / The file could not be sent: '+e.message}i.value=''}})();";

fn page(title: &str, body: &str, script: &str) -> String {
    format!(
        "<!doctype html><html lang=\"vi\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{title}</title><style>{CSS}</style></head><body>{body}<script>{script}</script></body></html>",
        title = esc(title),
    )
}

/// The block's documents, one tap each, and the form for the meeting's details (`names`:
/// the members' names, for the attendance).
pub fn documents_html(block: &Block, names: &[(Uuid, String)]) -> String {
    let name = esc(&block.name);
    let m = &block.meeting;
    let mut members: Vec<&(Uuid, String)> = names.iter().collect();
    members.sort_by(|x, y| collation::compare(&x.1, &y.1));
    let attendance: String = members
        .iter()
        .map(|(id, n)| {
            format!(
                "<label class=\"check\"><input type=\"checkbox\" name=\"present\" value=\"{id}\"{}> {}</label>",
                if block.attended(*id) { " checked" } else { "" },
                esc(n)
            )
        })
        .collect();
    let body = format!(
        "<h1>{name}</h1><p class=\"muted\">Năm {year} · Tài liệu, trình chiếu / Documents, projector</p>\
         <h2>Trình chiếu / Projector</h2>\
         <a class=\"button\" data-doc href=\"board.html\" target=\"_blank\">Màn hình trình chiếu, kết quả / Projector, results</a>\
         <h2>Biên bản họp bình xét / Minutes</h2>\
         <form id=\"meeting\">\
         <label for=\"place\">Địa điểm / Place</label><input id=\"place\" name=\"place\" maxlength=\"200\" autocomplete=\"off\" value=\"{place}\">\
         <label for=\"date\">Thời gian / Date</label><input id=\"date\" name=\"date\" maxlength=\"200\" placeholder=\"ngày … tháng … năm {year}\" value=\"{date}\">\
         <label for=\"chair\">Chủ trì / Chair</label><input id=\"chair\" name=\"chair\" maxlength=\"200\" value=\"{chair}\">\
         <label for=\"secretary\">Thư ký / Secretary</label><input id=\"secretary\" name=\"secretary\" maxlength=\"200\" value=\"{secretary}\">\
         <fieldset><legend>Đơn vị có mặt / Units present</legend>{attendance}</fieldset>\
         <p><button type=\"submit\">Lưu thông tin hội nghị / Save the meeting's details</button></p>\
         <p id=\"saved\" role=\"status\" aria-live=\"polite\"></p></form>\
         <a class=\"button\" data-doc href=\"minutes.html\" target=\"_blank\">Biên bản để in / Minutes to print</a>\
         <h2>Giao ước, kết quả / Covenant, results</h2>\
         <a class=\"button secondary\" data-doc href=\"covenant.html\" target=\"_blank\">Giao ước bản in / Printed covenant</a>\
         <a class=\"button secondary\" data-doc href=\"results.xlsx\">Tải Excel / Excel workbook</a>\
         <a class=\"button secondary\" data-doc href=\"results.csv\">Tải CSV / CSV</a>\
         <h2>Tệp thay đổi / Changes files</h2>\
         <a class=\"button secondary\" data-doc href=\"../../import.html\">Nhập tệp thay đổi / Import a changes file</a>",
        year = block.year,
        place = esc(&m.place),
        date = esc(&m.date),
        chair = esc(&m.chair),
        secretary = esc(&m.secretary),
    );
    page(&format!("Tài liệu – {}", block.name), &body, LINKS_JS)
}

/// The import of a changes file.
pub fn import_html() -> String {
    let body = "<h1>Nhập tệp thay đổi / Import a changes file</h1>\
         <p class=\"muted\">Tệp do một máy không có mạng xuất ra (“Xuất tệp thay đổi”). Các thay đổi được ghi như do chính máy đó gửi; nhập lại lần nữa không thay đổi gì; tệp bị sửa sau khi xuất sẽ bị từ chối. / A file exported by a device with no network. Its changes apply as that device's; importing again changes nothing; a file altered after export is refused.</p>\
         <label for=\"file\">Chọn tệp / Choose the file</label><input id=\"file\" type=\"file\" accept=\".json,application/json\">\
         <p id=\"result\" role=\"status\" aria-live=\"polite\"></p>";
    page("Nhập tệp thay đổi", body, IMPORT_JS)
}
