// The failure converter of every Groq Governor worker, client and workflow bundle. Failure messages and
// stack traces can quote what a caller sent (an upstream 400 echoes the request, a refusal names a
// model), so they move into the failure's `encodedAttributes` payload, which the payload codec then
// encrypts like any other payload; the history keeps only "Encoded failure". Plain CommonJS because the
// SDK loads it by path twice: `require()` for clients and activities, and webpack for the workflow bundle.
'use strict';
const { DefaultFailureConverter } = require('@temporalio/common');

exports.failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
