// Values as people read them, by the field's display type and the language.
import { store } from "./store.js";

export function money(amount, code) {
  if (amount === null || amount === undefined || amount === "") return "";
  const number = Number(amount);
  try {
    return new Intl.NumberFormat(store.locale, { style: "currency", currency: code || "CNY" }).format(number);
  } catch (e) {
    return `${code || ""} ${number.toFixed(2)}`;
  }
}

export function title(record, field) {
  if (!record) return "";
  if (record[field]) return record[field];
  for (const [key, value] of Object.entries(record)) {
    if (key !== "id" && key !== "__typename" && typeof value === "string" && value) return value;
  }
  return record.id || "";
}

function dateText(value, withTime) {
  const date = new Date(withTime ? value : value + "T00:00:00");
  if (isNaN(date)) return value;
  const options = withTime
    ? { year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" }
    : { year: "numeric", month: "2-digit", day: "2-digit" };
  return new Intl.DateTimeFormat(store.locale, options).format(date);
}

export function choiceLabel(field, value) {
  const found = (field.values || []).find((v) => v.value === value);
  return found ? found.label : value;
}

// The value of ``field`` on ``record`` (as the data API returns it), as text.
export function show(field, record) {
  if (!field || !record) return "";
  const value = record[field.relation || field.api] ?? record[field.api];
  if (value === null || value === undefined) return "";
  if (field.widget === "owner" || (field.display === "uuid" && store.members[value])) {
    const member = store.members[value];
    return member ? member.name : "";
  }
  switch (field.display) {
    case "picklist":
      return choiceLabel(field, value);
    case "multi_picklist":
      return (value || []).map((v) => choiceLabel(field, v)).join("、");
    case "currency":
      return typeof value === "object" ? money(value.amount, value.currencyCode) : money(value, field.currency);
    case "boolean":
      return value ? "✓" : "✗";
    case "date":
      return dateText(value, false);
    case "datetime":
      return dateText(value, true);
    case "lookup":
    case "master_detail":
      return typeof value === "object" ? title(value) : value;
    case "polymorphic_lookup":
      return typeof value === "object" ? title(value) : "";
    case "address":
      return value.line || "";
    case "attachment":
      return value.name || "";
    case "percent":
      return value + "%";
    default:
      if (typeof value === "object") return value.amount ? money(value.amount, value.currencyCode) : JSON.stringify(value);
      return String(value);
  }
}

// The record a lookup value points at, for a link: {object, id}.
export function linkOf(field, record) {
  const value = record && record[field.relation || field.api];
  if (!value || typeof value !== "object" || !value.id) return null;
  if (field.display === "polymorphic_lookup") {
    const object = (store.shell.objects || []).find((o) => o.type === value.__typename);
    return object ? { object: object.name, id: value.id } : null;
  }
  return field.target ? { object: field.target, id: value.id } : null;
}

// A message stored in every language ({"en": ..., "zh-CN": ...}) in the person's own.
export function localized(message) {
  if (message && typeof message === "object") return message[store.locale] || message.en || "";
  if (typeof message !== "string" || !message.startsWith("{")) return message;
  try {
    const all = JSON.parse(message);
    return all[store.locale] || all.en || message;
  } catch (e) {
    return message;
  }
}
