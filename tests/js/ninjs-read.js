// A second reader of the press service's items: ajv (JSON Schema 2020-12) with ajv-formats, in another language
// than the one that wrote them. Usage: node ninjs-read.js SCHEMA ITEM.json... -> one JSON object on stdout:
// {file: {valid, errors, roundtrip}}, roundtrip being the item as this reader parsed and wrote it back.
const fs = require("fs");
const Ajv2020 = require("ajv/dist/2020");
const addFormats = require("ajv-formats");
const [schemaPath, ...files] = process.argv.slice(2);
const ajv = new Ajv2020({ allErrors: true, strict: false });
addFormats(ajv);
// places[].geojson refers to geojson.org's schema: the items never carry it, and nothing is fetched
ajv.addSchema({ $id: "https://geojson.org/schema/GeoJSON.json" });
const validate = ajv.compile(JSON.parse(fs.readFileSync(schemaPath, "utf8")));
const out = {};
for (const f of files) {
  const item = JSON.parse(fs.readFileSync(f, "utf8"));
  const valid = validate(item);
  out[f] = { valid, errors: valid ? [] : validate.errors, roundtrip: JSON.parse(JSON.stringify(item)) };
}
process.stdout.write(JSON.stringify(out));
