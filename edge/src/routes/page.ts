/**
 * GET /: a self-contained page to try a prompt. It calls POST /v1/budget with include_curves and
 * draws t*, the per-metric t* and the three predicted curves as inline SVG (no external assets).
 * Served with hono's secure headers and a Content-Security-Policy that allows nothing but its own
 * inline script and style (by a per-request nonce) and fetches to its own origin.
 */
import { NONCE, secureHeaders } from "hono/secure-headers";
import type { EdgeApp } from "../app-env";

const pageHeaders = secureHeaders({
  contentSecurityPolicy: {
    defaultSrc: ["'none'"],
    scriptSrc: [NONCE],
    styleSrc: [NONCE],
    connectSrc: ["'self'"],
    baseUri: ["'none'"],
    // The form is sent by fetch(), never submitted as a navigation.
    formAction: ["'none'"],
    frameAncestors: ["'none'"],
  },
});

const page = (nonce: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>BudgetFusion: step budget</title>
<style nonce="${nonce}">
body{font:15px/1.4 system-ui,sans-serif;max-width:760px;margin:2em auto;padding:0 1em;color:#222}
form{display:flex;gap:.5em}input[type=text]{flex:1;padding:.4em}button{padding:.4em 1em}
#result{margin-top:1em}.big{font-size:2em;font-weight:600}.err{color:#b00}
table{border-collapse:collapse}td,th{padding:.2em .8em;text-align:left}
.lsnr{stroke:#1f77b4}.dsim{stroke:#d62728}.iclip{stroke:#2ca02c}
</style></head><body>
<h1>BudgetFusion</h1>
<p>How many denoising steps does a prompt need? Enter a prompt to see the predicted step budget t* and the three perceptual-metric curves.</p>
<form id="f"><input id="prompt" type="text" name="prompt" value="a colorful park with a crowd" aria-label="prompt" required><button id="go" type="submit">Predict</button></form>
<div id="result" aria-live="polite"></div>
<script nonce="${nonce}">
const W=700,H=300,P=40,COLORS={lsnr:"#1f77b4",dsim:"#d62728",iclip:"#2ca02c"};
function esc(s){return String(s).replace(/[&<>"]/g,c=>({"&":"&amp;","<":"&lt;",">":"&gt;",'"':"&quot;"}[c]))}
function chart(curves,tstar){
  const n=curves.steps.length,x=i=>P+(W-2*P)*(i/(n-1)),y=v=>H-P-(H-2*P)*v;
  let s='<svg id="chart" xmlns="http://www.w3.org/2000/svg" width="'+W+'" height="'+H+'" viewBox="0 0 '+W+' '+H+'" role="img" aria-label="predicted metric curves">';
  s+='<line x1="'+P+'" y1="'+(H-P)+'" x2="'+(W-P)+'" y2="'+(H-P)+'" stroke="#888"/><line x1="'+P+'" y1="'+P+'" x2="'+P+'" y2="'+(H-P)+'" stroke="#888"/>';
  for(const m of ["lsnr","dsim","iclip"]){
    const pts=curves[m].map((v,i)=>x(i).toFixed(1)+","+y(Math.max(0,Math.min(1,v))).toFixed(1)).join(" ");
    s+='<polyline class="curve '+m+'" data-metric="'+m+'" fill="none" stroke-width="2" stroke="'+COLORS[m]+'" points="'+pts+'"/>';
  }
  const tx=x(tstar-1);
  s+='<line id="tstar-line" x1="'+tx+'" y1="'+P+'" x2="'+tx+'" y2="'+(H-P)+'" stroke="#000" stroke-dasharray="4 3"/>';
  s+='<text x="'+(tx+4)+'" y="'+(P+12)+'" font-size="12">t* = '+tstar+'</text>';
  s+='<text x="'+P+'" y="'+(H-P+16)+'" font-size="11">1</text><text x="'+(W-P-16)+'" y="'+(H-P+16)+'" font-size="11">'+n+' steps</text>';
  let lx=W-P-200;for(const m of ["lsnr","dsim","iclip"]){s+='<rect x="'+lx+'" y="'+(P-24)+'" width="10" height="10" fill="'+COLORS[m]+'"/><text x="'+(lx+14)+'" y="'+(P-15)+'" font-size="12">'+m+'</text>';lx+=66}
  return s+'</svg>';
}
document.getElementById("f").addEventListener("submit",async e=>{
  e.preventDefault();const out=document.getElementById("result");out.textContent="…";
  try{
    const r=await fetch("/v1/budget",{method:"POST",headers:{"content-type":"application/json"},body:JSON.stringify({prompt:document.getElementById("prompt").value,include_curves:true})});
    const b=await r.json();
    if(!r.ok){out.innerHTML='<p class="err" id="error">'+esc(b.error.code)+': '+esc(b.error.message)+'</p>';return}
    out.innerHTML='<p>t* = <span class="big" id="tstar">'+b.steps+'</span> steps ('+Math.round(b.savings_vs_reference*100)+'% fewer than '+b.reference_steps+')</p>'+
      '<table id="per-metric"><tr><th>metric</th><th>t*</th></tr>'+["lsnr","dsim","iclip"].map(m=>'<tr><td>'+m+'</td><td data-metric="'+m+'">'+b.per_metric[m]+'</td></tr>').join("")+'</table>'+
      chart(b.curves,b.steps)+'<p><small>predictor '+esc(b.predictor_version)+'</small></p>';
  }catch(err){out.innerHTML='<p class="err" id="error">'+esc(err)+'</p>'}
});
</script></body></html>`;

export function registerPage(app: EdgeApp) {
  app.get("/", pageHeaders, (c) => {
    // NONCE in the policy drew it for this request.
    const nonce = c.var.secureHeadersNonce;
    if (nonce === undefined) throw new Error("secureHeaders drew no nonce");
    return c.html(page(nonce));
  });
}
