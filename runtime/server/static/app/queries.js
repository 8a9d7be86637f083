// GraphQL documents built from an object's compiled UI schema: the schema says how to
// select each field (``select``) and what the data API calls things, so nothing here
// knows any object.

export function selectionOf(schema, columns) {
  const parts = ["id", "rowVersion"];
  for (const name of columns) {
    const field = schema.fields[name];
    if (field && field.select && !parts.includes(field.select)) parts.push(field.select);
  }
  return parts.join(" ");
}

// The arguments a query uses, each declared as a variable (only those given).
class Args {
  constructor() {
    this.declared = [];
    this.args = [];
    this.variables = {};
  }

  add(name, type, value) {
    if (value === undefined || value === null || value === "") return this;
    if (typeof value === "object" && !Array.isArray(value) && !Object.keys(value).length) return this;
    if (Array.isArray(value) && !value.length) return this;
    this.declared.push(`$${name}: ${type}`);
    this.args.push(`${name}: $${name}`);
    this.variables[name] = value;
    return this;
  }

  head(operation) {
    return this.declared.length ? `${operation}(${this.declared.join(", ")})` : operation;
  }
}

// A page of records: the list view (server-side filter), the person's filter, sort,
// search and cursor.
export function listQuery(schema, columns, { view, filter, orderBy, search, after, first }) {
  const a = new Args()
    .add("first", "Int", first || 50)
    .add("view", "String", view)
    .add("filter", `${schema.type}Filter`, filter)
    .add("orderBy", `[${schema.type}OrderBy!]`, orderBy)
    .add("search", "String", search)
    .add("after", "String", after);
  const query = `${a.head("query List")} { ${schema.list}(${a.args.join(", ")}) {
    totalCount pageInfo { hasNextPage endCursor } nodes { ${selectionOf(schema, columns)} } } }`;
  return { query, variables: a.variables };
}

// Group headers: a count (and a sum of the first currency field) per value, over the
// view and the filter (aggregates take no search: while searching, headers count the
// filtered records, not only the matches).
export function groupQuery(schema, field, { view, filter }) {
  const a = new Args().add("view", "String", view).add("filter", `${schema.type}Filter`, filter);
  const money = Object.values(schema.fields).find((f) => f.type === "currency");
  const sum = money ? ` sum { ${money.api} }` : "";
  const args = [`groupBy: [{field: ${schema.fields[field].api}}]`, "first: 200", ...a.args];
  return {
    query: `${a.head("query Groups")} { ${schema.list}Aggregate(${args.join(", ")}) { key { ${schema.fields[field].api} } count${sum} } }`,
    variables: a.variables,
    money,
  };
}

export function recordQuery(schema, columns) {
  const history = schema.history ? " fieldHistory(first: 30) { field oldValue newValue changedBy changedAt }" : "";
  return `query Record($id: ID!) { ${schema.one}(id: $id) { ${selectionOf(schema, columns)} createdAt updatedAt${history} } }`;
}

export function pascal(name) {
  return name
    .split("_")
    .map((p) => p.charAt(0).toUpperCase() + p.slice(1))
    .join("");
}
