// The seed's participant filter DSL and custom-action conditions (one evaluator for both). A mirror in Python,
// weir.egress.composite.conditions, passes the same cases (conditions.cases.json).

export type Value = string | number | boolean | null | Value[] | { [key: string]: Value };
export type Condition = { [key: string]: Value };
export type Subject = Record<string, Value>;

const SCALAR_OPERATORS = ["$eq", "$neq", "$in", "$contains", "$gt", "$gte", "$lt", "$lte"];

/** Thrown for a condition the DSL does not have (an unknown operator, `$and` without a list...). */
export class ConditionError extends Error {}

function isObject(value: Value | undefined): value is { [key: string]: Value } {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function same(a: Value | undefined, b: Value): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((item, i) => same(item, b[i]));
  return a === b;
}

function ordered(actual: Value | undefined, expected: Value, test: (a: number, b: number) => boolean): boolean {
  return typeof actual === "number" && typeof expected === "number" && test(actual, expected);
}

function compare(actual: Value | undefined, operator: string, expected: Value): boolean {
  switch (operator) {
    case "$eq":
      return same(actual, expected);
    case "$neq":
      return !same(actual, expected);
    case "$in":
      if (!Array.isArray(expected)) throw new ConditionError("$in takes a list");
      return expected.some((item) => same(actual, item));
    case "$contains":
      return Array.isArray(actual) && actual.some((item) => same(item, expected));
    case "$gt":
      return ordered(actual, expected, (a, b) => a > b);
    case "$gte":
      return ordered(actual, expected, (a, b) => a >= b);
    case "$lt":
      return ordered(actual, expected, (a, b) => a < b);
    case "$lte":
      return ordered(actual, expected, (a, b) => a <= b);
  }
  throw new ConditionError(`unknown operator ${operator}`);
}

function field(actual: Value | undefined, test: Value): boolean {
  if (!isObject(test)) return same(actual, test);
  const operators = Object.entries(test);
  if (!operators.every(([operator]) => SCALAR_OPERATORS.includes(operator)))
    throw new ConditionError(`unknown operator in ${JSON.stringify(test)}`);
  return operators.every(([operator, expected]) => compare(actual, operator, expected));
}

function conditions(value: Value, operator: string): Condition[] {
  if (!Array.isArray(value) || !value.every(isObject))
    throw new ConditionError(`${operator} takes a list of conditions`);
  return value as Condition[];
}

/** Whether `subject` (a participant, or the call's counts) meets `condition`; every key must hold. */
export function matches(condition: Condition, subject: Subject): boolean {
  return Object.entries(condition).every(([key, test]) => {
    if (key === "$and") return conditions(test, key).every((c) => matches(c, subject));
    if (key === "$or") return conditions(test, key).some((c) => matches(c, subject));
    if (key === "$not") {
      if (!isObject(test)) throw new ConditionError("$not takes a condition");
      return !matches(test, subject);
    }
    if (key.startsWith("$")) throw new ConditionError(`unknown operator ${key}`);
    return field(subject[key], test);
  });
}
