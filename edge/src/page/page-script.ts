/**
 * The page's shared script pieces: the pure functions it borrows from the rest of the code base,
 * embedded by source so that the wording and arithmetic it shows are the ones the API and the
 * usage accounting use (one implementation each), plus the small fetch helper both pages use.
 */
import { computeMs } from "@budgetfusion/shared/usage/compute-time";
import { stepsVersus } from "@budgetfusion/shared/usage/steps-versus";
import { progressFraction, progressText, shareOfCompute } from "./page-format";

/** `const name = <source>;` for each function (a bundler may rename the declaration itself). */
function embedFunctions(fns: Record<string, (...args: never[]) => unknown>): string {
  return Object.entries(fns)
    .map(([name, fn]) => `const ${name} = ${fn.toString()};`)
    .join("\n");
}

export const pageFunctions = () =>
  embedFunctions({ stepsVersus, computeMs, progressFraction, progressText, shareOfCompute });

/**
 * `api(path, body?, token?)`: fetch JSON with the token as Bearer credentials; a non-2xx answer
 * throws with the error body's code and message (and Retry-After when given). `esc` escapes text
 * for innerHTML.
 */
export const FETCH_HELPERS = `
function esc(s){return String(s).replace(/[&<>"]/g,c=>({"&":"&amp;","<":"&lt;",">":"&gt;",'"':"&quot;"}[c]))}
function authHeaders(token,json){const h={};if(token)h.authorization="Bearer "+token;if(json)h["content-type"]="application/json";return h}
async function api(path,body,token){
  const r=await fetch(path,body===undefined?{headers:authHeaders(token,false)}:{method:"POST",headers:authHeaders(token,true),body:JSON.stringify(body)});
  const data=(r.headers.get("content-type")||"").includes("application/json")?await r.json():null;
  if(!r.ok){
    const e=data&&data.error,retry=r.headers.get("retry-after");
    const err=new Error((e?e.code+": "+e.message:"HTTP "+r.status)+(retry?" (retry after "+retry+" s)":""));
    err.status=r.status;throw err;
  }
  return data;
}`;
