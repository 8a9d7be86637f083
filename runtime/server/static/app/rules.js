// Layout rules in the browser: when a field shows and when it is read-only, evaluated
// as the person edits. The server sends each rule checked, as a tree
// (metadata/expressions/portable.py), and applies the same rule when the change is
// saved, with the same meaning: a missing value makes a comparison unknown, AND and OR
// follow three-valued logic, and a field shows only when its rule is true.

function blank(v) {
  return v === null || v === undefined || v === "" || (Array.isArray(v) && v.length === 0);
}

function num(v) {
  if (blank(v)) return null;
  if (typeof v === "object" && v.amount !== undefined) return Number(v.amount);
  return Number(v);
}

function and(values) {
  if (values.some((v) => v === false)) return false;
  return values.some((v) => v === null || v === undefined) ? null : true;
}

function or(values) {
  if (values.some((v) => v === true)) return true;
  return values.some((v) => v === null || v === undefined) ? null : false;
}

function today() {
  const d = new Date();
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

// ``values``: the record by field name; ``me``: {role, roles} from the shell.
export function evaluate(node, values, me) {
  if ("lit" in node) return node.lit;
  if ("field" in node) {
    const v = values[node.field];
    return v === undefined ? null : v;
  }
  const args = () => node.args.map((a) => evaluate(a, values, me));
  if (node.fn) {
    switch (node.fn) {
      case "AND": return and(args());
      case "OR": return or(args());
      case "IF": {
        const c = evaluate(node.args[0], values, me);
        return evaluate(node.args[c === true ? 1 : 2], values, me);
      }
      case "ISBLANK": return blank(evaluate(node.args[0], values, me));
      case "BLANKVALUE": {
        const v = evaluate(node.args[0], values, me);
        return blank(v) ? evaluate(node.args[1], values, me) : v;
      }
      case "ROLE": return (me && me.role) || null;
      case "ISMEMBER": return !!(me && (me.roles || []).includes(evaluate(node.args[0], values, me)));
      case "TODAY": return today();
      case "CONTAINS": { const [a, b] = args(); return blank(a) || blank(b) ? null : String(a).includes(String(b)); }
      case "BEGINS": { const [a, b] = args(); return blank(a) || blank(b) ? null : String(a).startsWith(String(b)); }
      case "LEN": { const [a] = args(); return blank(a) ? 0 : String(a).length; }
      case "TRIM": { const [a] = args(); return blank(a) ? a : String(a).trim(); }
      default: return null;
    }
  }
  const [a, b] = args();
  switch (node.op) {
    case "NOT": return a === null || a === undefined ? null : !a;
    case "-": return node.args.length === 1 ? (num(a) === null ? null : -num(a)) : (num(a) === null || num(b) === null ? null : num(a) - num(b));
    case "AND": return and([a, b]);
    case "OR": return or([a, b]);
    case "&": return `${blank(a) ? "" : a}${blank(b) ? "" : b}`;
    case "+": return num(a) === null || num(b) === null ? null : num(a) + num(b);
    case "*": return num(a) === null || num(b) === null ? null : num(a) * num(b);
    case "/": return num(a) === null || num(b) === null || num(b) === 0 ? null : num(a) / num(b);
    default: {
      if (blank(a) || blank(b)) return null;
      const numeric = node.type === "number";
      const x = numeric ? num(a) : String(a);
      const y = numeric ? num(b) : String(b);
      switch (node.op) {
        case "=": return x === y;
        case "!=": return x !== y;
        case "<": return x < y;
        case "<=": return x <= y;
        case ">": return x > y;
        case ">=": return x >= y;
        default: return null;
      }
    }
  }
}

// Whether a control shows, and whether it is read-only, for these values.
export function shows(options, values, me) {
  return !options.visibleWhen || evaluate(options.visibleWhen, values, me) === true;
}

export function locked(options, values, me) {
  return !!options.readOnlyWhen && evaluate(options.readOnlyWhen, values, me) === true;
}
