// A citation in the GB/T 7714-2015 form for the document on screen.
//
// Why this form: GB/T 7714-2015 has no document-type code of its own for laws,
// regulations or government documents (文件); Table B.1 gives "A" for 档案 (archives),
// which is what a 现行文件 is in the archival sense (a 文书 issued by an agency) and
// what an item from 开放档案 is outright, and the other candidates are worse ([S] is
// for standards, [Z] "其他" says nothing). So both collections use the monograph-style
// element order of §4.1 with [A]:
//   主要责任者. 题名: 其他题名信息[A]. 日期.
// The issuing agencies are the 主要责任者 (more than three: the first three then "等",
// §8.1.2); the 文号 is the 其他题名信息, so a reader can find the exact text; the date
// is 成文日期 written in ISO 8601 form (YYYY-MM-DD), which §8.8.3 allows for dates.
// For archives the holding's 档号 follows, since without it the item cannot be fetched.
// We do not append [A/OL], a URL or an access date: the copy a reader consulted here may
// be on a reading-room terminal that has no public address.

const MAX_AUTHORS = 3;

export function citation(doc) {
  const agencies = (Array.isArray(doc.agency) ? doc.agency : [doc.agency]).filter(Boolean);
  let authors = agencies.slice(0, MAX_AUTHORS).join(", ");
  if (agencies.length > MAX_AUTHORS) authors += ", 等";
  const title = tidy(doc.title || "");
  const other = doc.doc_number ? `: ${tidy(doc.doc_number)}` : "";
  const date = isoDate(doc.date) || isoDate(doc.published) || (doc.year ? String(doc.year) : "");
  const parts = [];
  if (authors) parts.push(`${authors}.`);
  parts.push(`${title}${other}[A].`);
  if (date) parts.push(`${date}.`);
  if (doc.collection === "archive" && doc.archival_code) {
    parts.push(`${doc.fonds ? `${tidy(doc.fonds)}, ` : ""}档号 ${tidy(doc.archival_code)}.`);
  }
  return parts.join(" ");
}

function tidy(text) {
  // A citation is one line; a trailing full stop would double the separator.
  return String(text).replace(/\s+/g, " ").trim().replace(/[.。]$/, "");
}

function isoDate(value) {
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(String(value || ""));
  return m ? `${m[1]}-${m[2]}-${m[3]}` : "";
}
