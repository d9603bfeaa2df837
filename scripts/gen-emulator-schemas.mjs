#!/usr/bin/env node
/**
 * Generates the emulator's request-body schemas from the API clients' own TypeScript declarations
 * (discovery-derived for Google), so the emulator rejects exactly the fields the real types lack.
 *
 *   node scripts/gen-emulator-schemas.mjs          # writes every target's JSON
 *   node scripts/gen-emulator-schemas.mjs --check  # exits 1 when a committed file is stale
 *
 * To add an API, append a target below: the .d.ts, the root types to describe (everything they
 * reference is included) and the output path. The format is read by emulator/schema/validate.ts:
 *   { source, types: { Name: Type } }, Type =
 *     {t:'string'|'number'|'boolean'|'any'|'null'} | {t:'literal', value} | {t:'array', items}
 *     | {t:'object', props:{name:{type, optional}}, additional?: Type} | {t:'ref', name}
 *     | {t:'union', of:[Type]}
 */
import { createRequire } from 'node:module';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'package.json'));
const ts = require('typescript');

export const TARGETS = [
  {
    dts: '@googleapis/calendar/build/v3.d.ts',
    rootTypes: ['Schema$Event'],
    out: 'emulator/schema/google-calendar-v3.json',
  },
];

/** Collects every interface / type alias declared anywhere in the file (namespaces included). */
function collectDeclarations(sf) {
  const decls = new Map();
  const visit = (node) => {
    if (ts.isInterfaceDeclaration(node) || ts.isTypeAliasDeclaration(node)) {
      if (!decls.has(node.name.text)) decls.set(node.name.text, node);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return decls;
}

function describeTarget(target) {
  const file = require.resolve(target.dts);
  const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
  const decls = collectDeclarations(sf);
  const types = {};
  const queue = [...target.rootTypes];

  const ref = (name) => {
    if (!(name in types) && !queue.includes(name)) queue.push(name);
    return { t: 'ref', name };
  };

  /** Converts a type node; `subst` maps generic parameters to argument nodes. */
  const convert = (node, subst = new Map()) => {
    switch (node.kind) {
      case ts.SyntaxKind.StringKeyword: return { t: 'string' };
      case ts.SyntaxKind.NumberKeyword: return { t: 'number' };
      case ts.SyntaxKind.BooleanKeyword: return { t: 'boolean' };
      case ts.SyntaxKind.NullKeyword: return { t: 'null' };
      case ts.SyntaxKind.AnyKeyword:
      case ts.SyntaxKind.UnknownKeyword:
      case ts.SyntaxKind.ObjectKeyword: return { t: 'any' };
      case ts.SyntaxKind.UndefinedKeyword: return { t: 'null' };
    }
    if (ts.isParenthesizedTypeNode(node)) return convert(node.type, subst);
    if (ts.isLiteralTypeNode(node)) {
      if (node.literal.kind === ts.SyntaxKind.NullKeyword) return { t: 'null' };
      if (ts.isStringLiteral(node.literal)) return { t: 'literal', value: node.literal.text };
      if (ts.isNumericLiteral(node.literal)) return { t: 'literal', value: Number(node.literal.text) };
      if (node.literal.kind === ts.SyntaxKind.TrueKeyword) return { t: 'literal', value: true };
      if (node.literal.kind === ts.SyntaxKind.FalseKeyword) return { t: 'literal', value: false };
    }
    if (ts.isArrayTypeNode(node)) return { t: 'array', items: convert(node.elementType, subst) };
    if (ts.isUnionTypeNode(node)) {
      const of = node.types.map((n) => convert(n, subst));
      return of.length === 1 ? of[0] : { t: 'union', of };
    }
    if (ts.isTypeLiteralNode(node)) return objectOf(node.members, subst);
    if (ts.isTypeReferenceNode(node)) {
      const name = node.typeName.getText();
      if (subst.has(name)) return convert(subst.get(name), subst);
      const args = node.typeArguments ?? [];
      if ((name === 'Array' || name === 'ReadonlyArray') && args.length === 1) return { t: 'array', items: convert(args[0], subst) };
      if (name === 'Record' && args.length === 2) return { t: 'object', props: {}, additional: convert(args[1], subst) };
      const short = name.split('.').pop();
      const decl = decls.get(short);
      if (!decl) return { t: 'any' };
      // Generic aliases (e.g. NullableOption<T>) are inlined with their arguments substituted.
      if (decl.typeParameters?.length && ts.isTypeAliasDeclaration(decl)) {
        const inner = new Map(subst);
        decl.typeParameters.forEach((p, i) => args[i] && inner.set(p.name.text, args[i]));
        return convert(decl.type, inner);
      }
      return ref(short);
    }
    if (ts.isIntersectionTypeNode(node)) return { t: 'any' };
    return { t: 'any' };
  };

  const objectOf = (members, subst) => {
    const props = {};
    let additional;
    for (const m of members) {
      if (ts.isPropertySignature(m) && m.type) {
        const key = m.name.getText().replace(/^["']|["']$/g, '');
        props[key] = { type: convert(m.type, subst), optional: !!m.questionToken };
      } else if (ts.isIndexSignatureDeclaration(m) && m.type) {
        additional = convert(m.type, subst);
      }
    }
    return additional ? { t: 'object', props, additional } : { t: 'object', props };
  };

  const describeDecl = (decl) => {
    if (ts.isTypeAliasDeclaration(decl)) return convert(decl.type);
    const own = objectOf(decl.members, new Map());
    // Inherited members (Graph types: Event extends OutlookItem extends Entity) are merged in.
    for (const clause of decl.heritageClauses ?? []) {
      for (const base of clause.types) {
        const baseDecl = decls.get(base.expression.getText().split('.').pop());
        if (!baseDecl) continue;
        const inherited = describeDecl(baseDecl);
        if (inherited.t === 'object') {
          own.props = { ...inherited.props, ...own.props };
          if (inherited.additional && !own.additional) own.additional = inherited.additional;
        }
      }
    }
    return own;
  };

  while (queue.length) {
    const name = queue.shift();
    if (name in types) continue;
    const decl = decls.get(name);
    if (!decl) throw new Error(`${target.dts}: type ${name} not found`);
    types[name] = describeDecl(decl);
  }
  const pkg = require(join(target.dts.split('/').slice(0, target.dts.startsWith('@') ? 2 : 1).join('/'), 'package.json'));
  return { source: `${target.dts} (${pkg.name}@${pkg.version})`, roots: target.rootTypes, types };
}

export function generate(target) {
  return JSON.stringify(describeTarget(target), null, 1) + '\n';
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const check = process.argv.includes('--check');
  let stale = 0;
  for (const target of TARGETS) {
    const text = generate(target);
    const out = join(root, target.out);
    if (check) {
      let old = '';
      try { old = readFileSync(out, 'utf8'); } catch { /* missing counts as stale */ }
      if (old !== text) {
        console.error(`${target.out} is stale: run node scripts/gen-emulator-schemas.mjs`);
        stale++;
      }
    } else {
      mkdirSync(dirname(out), { recursive: true });
      writeFileSync(out, text);
      console.log(`wrote ${target.out} (${Object.keys(JSON.parse(text).types).length} types)`);
    }
  }
  process.exit(stale ? 1 : 0);
}
