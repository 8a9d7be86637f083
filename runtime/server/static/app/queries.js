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

// A page of records: the list view (server-side filter), the person's filter, sort,
// search and cursor. Only the arguments in use are declared.
export function listQuery(schema, columns, { view, filter, orderBy, search, after, first }) {
  const args = [];
  const declared = [];
  const variables = { first: first || 50 };
  declared.push("$first: Int");
  args.push("first: $first");
  if (view) {
    declared.push("$view: String");
    args.push("view: $view");
    variables.view = view;
  }
  if (filter && Object.keys(filter).length) {
    declared.push(`$filter: ${schema.type}Filter`);
    args.push("filter: $filter");
    variables.filter = filter;
  }
  if (orderBy && orderBy.length) {
    declared.push(`$orderBy: [${schema.type}OrderBy!]`);
    args.push("orderBy: $orderBy");
    variables.orderBy = orderBy;
  }
  if (search) {
    declared.push("$search: String");
    args.push("search: $search");
    variables.search = search;
  }
  if (after) {
    declared.push("$after: String");
    args.push("after: $after");
    variables.after = after;
  }
  const query = `query List(${declared.join(", ")}) { ${schema.list}(${args.join(", ")}) {
    totalCount pageInfo { hasNextPage endCursor } nodes { ${selectionOf(schema, columns)} } } }`;
  return { query, variables };
}

// Group headers: a count (and a sum of the first currency field) per value.
export function groupQuery(schema, field, { view, filter, search }) {
  const declared = [];
  const args = [`groupBy: [{field: ${schema.fields[field].api}}]`, "first: 200"];
  const variables = {};
  if (view) {
    declared.push("$view: String");
    args.push("view: $view");
    variables.view = view;
  }
  if (filter && Object.keys(filter).length) {
    declared.push(`$filter: ${schema.type}Filter`);
    args.push("filter: $filter");
    variables.filter = filter;
  }
  const money = Object.values(schema.fields).find((f) => f.type === "currency");
  const sum = money ? ` sum { ${money.api} }` : "";
  const head = declared.length ? `(${declared.join(", ")})` : "";
  void search;
  return {
    query: `query Groups${head} { ${schema.list}Aggregate(${args.join(", ")}) { key { ${schema.fields[field].api} } count${sum} } }`,
    variables,
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
