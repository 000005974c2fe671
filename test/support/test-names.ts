/**
 * The names of the tests a test file declares, read from its source with TypeScript's parser
 * (nothing is run): the first argument of every `test(...)` and `t.test(...)` call, its string
 * pieces joined. A part known only when the test runs (a loop variable, a seed) is WILDCARD;
 * a constant of the file is its value. The docs name tests by the beginning of their names.
 */
import { readFileSync } from 'node:fs';
import ts from 'typescript';

/** Stands for any text in a name: what the source cannot tell before the test runs. */
export const WILDCARD = '\u0000';

/** The file's top-level `const NAME = <initializer>` declarations. */
function constantsOf(file: ts.SourceFile): Map<string, ts.Expression> {
  const constants = new Map<string, ts.Expression>();
  for (const statement of file.statements) {
    if (!ts.isVariableStatement(statement)) continue;
    if (!(statement.declarationList.flags & ts.NodeFlags.Const)) continue;
    for (const d of statement.declarationList.declarations) {
      if (ts.isIdentifier(d.name) && d.initializer) constants.set(d.name.text, d.initializer);
    }
  }
  return constants;
}

/** An expression as text, as far as the source tells it; WILDCARD for the rest. */
function textOf(e: ts.Expression, constants: Map<string, ts.Expression>, depth = 0): string {
  if (depth > 5) return WILDCARD;
  const again = (x: ts.Expression) => textOf(x, constants, depth + 1);
  if (ts.isStringLiteral(e) || ts.isNoSubstitutionTemplateLiteral(e)) return e.text;
  if (ts.isNumericLiteral(e)) return String(Number(e.text));
  if (ts.isParenthesizedExpression(e)) return again(e.expression);
  if (ts.isTemplateExpression(e)) {
    return e.head.text + e.templateSpans.map((s) => again(s.expression) + s.literal.text).join('');
  }
  if (ts.isBinaryExpression(e) && e.operatorToken.kind === ts.SyntaxKind.PlusToken) {
    return again(e.left) + again(e.right);
  }
  if (ts.isIdentifier(e) && constants.has(e.text)) return again(constants.get(e.text)!);
  return WILDCARD;
}

const isTestCall = (call: ts.CallExpression) => {
  const callee = call.expression;
  if (ts.isIdentifier(callee)) return callee.text === 'test';
  return ts.isPropertyAccessExpression(callee) && callee.name.text === 'test';
};

/** The names of the tests `file` declares, WILDCARD where a part is known only at run time. */
export function testNamesIn(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const constants = constantsOf(source);
  const names: string[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isCallExpression(node) && isTestCall(node) && node.arguments.length > 0) {
      names.push(textOf(node.arguments[0], constants));
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return names;
}

/** Whether `name` (WILDCARD standing for any text) can begin with `start`. */
export function beginsWith(name: string, start: string): boolean {
  const memo = new Map<string, boolean>();
  const from = (i: number, j: number): boolean => {
    if (i === start.length) return true;
    if (j === name.length) return false;
    const key = `${i},${j}`;
    if (!memo.has(key)) {
      const result =
        name[j] === WILDCARD ? from(i + 1, j) || from(i, j + 1) : name[j] === start[i] && from(i + 1, j + 1);
      memo.set(key, result);
    }
    return memo.get(key)!;
  };
  return from(0, 0);
}
