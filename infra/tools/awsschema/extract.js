#!/usr/bin/env node
// extract.js rebuilds a Terraform provider schema for hashicorp/aws from the
// generated bindings in the npm package @cdktn/provider-aws (pinned in
// ../package.json). The package ships no schema JSON: each resource lives in
// lib/<name>/index.js, where the generator left, for every attribute and block,
//
//   // <tf_name> - computed: <bool>, optional: <bool>, required: <bool>
//
// followed by its getter (getStringAttribute, getNumberListAttribute, ...) or by
// a nested class (new XList(this, "name", wrapsSet) / new XOutputReference(...)),
// and a synthesizeHclAttributes()/xToHclTerraform() table that says which inputs
// are blocks (isBlock) and with which nesting (list/set/struct).
//
// Only the resource and data source types that the .tf files under the given
// directories use are written out, plus the provider's own configuration.
//
// Usage: node extract.js <package lib dir> <out.json> <dir with .tf files>...
'use strict';

const fs = require('fs');
const path = require('path');

const [libDir, outFile, ...tfDirs] = process.argv.slice(2);
if (!libDir || !outFile || tfDirs.length === 0) {
  console.error('usage: extract.js <lib dir> <out.json> <tf dir>...');
  process.exit(2);
}

// ---- which types does the configuration use? ----
function walk(dir, out) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (e.name.startsWith('.')) continue;
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (e.name.endsWith('.tf') || e.name.endsWith('.tftest.hcl')) out.push(p);
  }
  return out;
}
const wantResources = new Set();
const wantData = new Set();
for (const d of tfDirs) {
  for (const f of walk(d, [])) {
    const src = fs.readFileSync(f, 'utf8');
    for (const m of src.matchAll(/^\s*(resource|data)\s+"(aws_[a-z0-9_]+)"/gm)) {
      (m[1] === 'resource' ? wantResources : wantData).add(m[2]);
    }
    // mock_provider blocks: mock_resource "aws_x" / mock_data "aws_x"
    for (const m of src.matchAll(/^\s*(mock_resource|override_resource)\s+"(aws_[a-z0-9_]+)"/gm)) wantResources.add(m[2]);
    for (const m of src.matchAll(/^\s*(mock_data|override_data)\s+"(aws_[a-z0-9_]+)"/gm)) wantData.add(m[2]);
  }
}

// ---- index the package: tf type name -> module directory ----
const index = { resource: new Map(), data: new Map(), provider: null };
for (const e of fs.readdirSync(libDir, { withFileTypes: true })) {
  if (!e.isDirectory()) continue;
  const f = path.join(libDir, e.name, 'index.js');
  if (!fs.existsSync(f)) continue;
  // Reading 1700 files is fast enough; only the head of each is needed.
  const src = fs.readFileSync(f, 'utf8');
  const m = src.match(/^class (\w+) extends cdktn\.(TerraformResource|TerraformDataSource|TerraformProvider) \{[\s\S]*?static tfResourceType = "([a-z0-9_]+)";/m);
  if (!m) continue;
  const entry = { dir: path.join(libDir, e.name), cls: m[1] };
  if (m[2] === 'TerraformResource') index.resource.set(m[3], entry);
  else if (m[2] === 'TerraformDataSource') index.data.set(m[3], entry);
  else index.provider = entry;
}

// ---- parse one module directory ----
function readModule(dir) {
  // Big resources split their structs into index-structs/*.js; read them all.
  const files = [];
  (function rec(d) {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) rec(p);
      else if (e.name.endsWith('.js')) files.push(p);
    }
  })(dir);
  const classes = new Map(); // class name -> body text
  const hcl = new Map(); // struct fn name (lowercase) or class name -> body text
  for (const f of files) {
    const src = fs.readFileSync(f, 'utf8');
    // Top-level declarations start at column 0.
    const parts = src.split(/^(?=class |function |exports\.)/m);
    for (const p of parts) {
      let m = p.match(/^class (\w+) extends/);
      if (m) { classes.set(m[1], p); continue; }
      m = p.match(/^function (\w+)ToHclTerraform\(/);
      if (m) hcl.set(m[1].toLowerCase(), p);
    }
  }
  return { classes, hcl };
}

function parseHclTable(text) {
  // name: { value: ..., isBlock: bool, type: "x", storageClassType: "y" }
  const out = new Map();
  const re = /^\s+(\w+): \{\s*\n\s*value: [^\n]*\n\s*isBlock: (true|false),\s*\n\s*type: "(\w+)",\s*\n\s*storageClassType: "(\w+)",/gm;
  for (const m of text.matchAll(re)) out.set(m[1], { isBlock: m[2] === 'true', type: m[3], storageClassType: m[4] });
  return out;
}

const GETTERS = [
  [/cdktn\.Token\.asNumberList\(cdktn\.Fn\.tolist\(this\.getNumberListAttribute\(/, ['set', 'number']],
  [/cdktn\.Fn\.tolist\(this\.getNumberListAttribute\(/, ['set', 'number']],
  [/cdktn\.Fn\.tolist\(this\.getListAttribute\(/, ['set', 'string']],
  [/this\.getNumberListAttribute\(/, ['list', 'number']],
  [/this\.getListAttribute\(/, ['list', 'string']],
  [/this\.getStringMapAttribute\(/, ['map', 'string']],
  [/this\.getNumberMapAttribute\(/, ['map', 'number']],
  [/this\.getBooleanMapAttribute\(/, ['map', 'bool']],
  [/this\.getStringAttribute\(/, 'string'],
  [/this\.getNumberAttribute\(/, 'number'],
  [/this\.getBooleanAttribute\(/, 'bool'],
  [/this\.interpolationForAttribute\(/, 'dynamic'],
];
const MAPS = { StringMap: ['map', 'string'], NumberMap: ['map', 'number'], BooleanMap: ['map', 'bool'], AnyMap: ['map', 'dynamic'] };

function lowerFirst(s) { return s.charAt(0).toLowerCase() + s.slice(1); }

// Returns a schema block {attributes, block_types} for a class body.
function blockOf(mod, className, hclText, stack) {
  const body = mod.classes.get(className);
  if (!body) throw new Error(`class ${className} not found`);
  if (stack.includes(className)) throw new Error(`recursive type ${className}`);
  const table = parseHclTable(hclText || '');
  const block = { attributes: {}, block_types: {} };
  const re = /^\s+\/\/ ([a-z0-9_]+) - computed: (true|false), optional: (true|false), required: (true|false)\n([\s\S]*?)(?=^\s+\/\/ [a-z0-9_]+ - computed: |^\s+\/\/ =====|$(?![\s\S]))/gm;
  for (const m of body.matchAll(re)) {
    const [, name, c, o, r, rest] = m;
    const flags = { computed: c === 'true', optional: o === 'true', required: r === 'true' };
    const head = rest.split('\n').slice(0, 6).join('\n');
    const nested = head.match(/= new (?:index_\d+\.)?(\w+?)(List|OutputReference|Map)\(this, "[a-z0-9_]+"(?:, (true|false))?\)/);
    const prim = head.match(/= new cdktn\.(StringMap|NumberMap|BooleanMap|AnyMap)\(/);
    const h = table.get(name);
    if (nested) {
      const [, prefix, kind, wrapsSet] = nested;
      const elemClass = prefix + 'OutputReference';
      const elemHcl = mod.hcl.get(lowerFirst(prefix).toLowerCase());
      const inner = blockOf(mod, elemClass, elemHcl, stack.concat(className));
      const isBlock = h ? h.isBlock : false;
      let nesting;
      if (kind === 'Map') nesting = 'map';
      else if (kind === 'OutputReference') nesting = h && h.type === 'struct' ? 'single' : 'list';
      else nesting = wrapsSet === 'true' ? 'set' : 'list';
      if (isBlock) {
        const bt = { nesting, block: inner };
        if (kind === 'OutputReference' && nesting === 'list') bt.max_items = 1;
        if (flags.required) bt.min_items = 1;
        block.block_types[name] = bt;
      } else {
        const obj = objectType(inner);
        const type = nesting === 'single' ? obj : [nesting, obj];
        block.attributes[name] = Object.assign({ type }, flags);
      }
      continue;
    }
    let type = null;
    if (prim) type = MAPS[prim[1]];
    else {
      for (const [g, t] of GETTERS) if (g.test(head)) { type = t; break; }
    }
    if (!type && h) {
      // The provider class keeps plain fields; fall back to the HCL table.
      if (h.isBlock) {
        const prefix = h.storageClassType.replace(/List$/, '');
        block.block_types[name] = { nesting: h.type === 'set' ? 'set' : 'list', block: tableBlock(mod, prefix) };
        if (flags.required) block.block_types[name].min_items = 1;
        continue;
      }
      type = storageType(h);
    }
    if (!type) throw new Error(`${className}.${name}: unknown getter:\n${head}`);
    block.attributes[name] = Object.assign({ type }, flags);
  }
  return block;
}

const STORAGE = { string: 'string', number: 'number', boolean: 'bool' };
function storageType(h) {
  const m = h.storageClassType.match(/^(string|number|boolean)(List|Map)?$/);
  if (!m) return null;
  if (!m[2]) return STORAGE[m[1]];
  return [h.type === 'set' ? 'set' : m[2] === 'Map' ? 'map' : 'list', STORAGE[m[1]]];
}

// A struct known only from its xToHclTerraform table (provider config blocks):
// every argument optional.
function tableBlock(mod, prefix) {
  const block = { attributes: {}, block_types: {} };
  for (const [n, h] of parseHclTable(mod.hcl.get(prefix.toLowerCase()) || '')) {
    if (h.isBlock) {
      block.block_types[n] = { nesting: h.type === 'set' ? 'set' : 'list', block: tableBlock(mod, h.storageClassType.replace(/List$/, '')) };
      continue;
    }
    const type = storageType(h);
    if (!type) throw new Error(`${prefix}.${n}: unknown storage type ${h.storageClassType}`);
    block.attributes[n] = { type, optional: true, computed: false, required: false };
  }
  return block;
}

// A nested block used as an attribute value becomes an object type.
function objectType(block) {
  const attrs = {};
  for (const [n, a] of Object.entries(block.attributes)) attrs[n] = a.type;
  for (const [n, b] of Object.entries(block.block_types)) {
    const o = objectType(b.block);
    attrs[n] = b.nesting === 'single' ? o : [b.nesting, o];
  }
  return ['object', attrs];
}

// The bindings type a few too-deep nested blocks as "any" (e.g.
// aws_wafv2_web_acl rule.statement). Terraform refuses a dynamic attribute in
// a set-nested block, and OpenTofu cannot mock one, so the stand-in leaves
// such attributes out: a configuration that uses them fails validation here
// and must use the resource's JSON form instead (rule_json), which the real
// provider accepts too.
const dropped = [];
function dropNestedDynamic(block, path) {
  for (const [n, b] of Object.entries(block.block_types)) {
    for (const [an, a] of Object.entries(b.block.attributes)) {
      if (JSON.stringify(a.type).includes('"dynamic"')) { delete b.block.attributes[an]; dropped.push(`${path}.${n}.${an}`); }
    }
    dropNestedDynamic(b.block, `${path}.${n}`);
  }
  return block;
}

function extract(entry) {
  const mod = readModule(entry.dir);
  const body = mod.classes.get(entry.cls);
  const synth = body.split(/^\s+synthesizeHclAttributes\(\) \{/m)[1] || '';
  return { version: 0, block: dropNestedDynamic(blockOf(mod, entry.cls, synth, []), entry.cls) };
}

const out = { provider: extract(index.provider), resource_schemas: {}, data_source_schemas: {} };
const missing = [];
for (const r of [...wantResources].sort()) {
  const e = index.resource.get(r);
  if (!e) { missing.push(`resource ${r}`); continue; }
  out.resource_schemas[r] = extract(e);
}
for (const d of [...wantData].sort()) {
  const e = index.data.get(d);
  if (!e) { missing.push(`data ${d}`); continue; }
  out.data_source_schemas[d] = extract(e);
}
if (missing.length) {
  console.error('extract: not in @cdktn/provider-aws (misspelt type?): ' + missing.join(', '));
  process.exit(1);
}
fs.writeFileSync(outFile, JSON.stringify(out));
if (dropped.length) console.log(`extract: left out (typed "any" in nested blocks): ${dropped.join(', ')}`);
console.log(`extract: ${Object.keys(out.resource_schemas).length} resource types, ${Object.keys(out.data_source_schemas).length} data source types -> ${outFile}`);
