/**
 * The page at /: where a new user sees the product work. A prompt gets its step budget t* with
 * the three predicted metric curves on labelled axes; Generate then makes the same prompt and
 * seed at t*, at the paper's 65-step REFERENCE and at a fixed 20 steps, side by side, each with
 * its step count, GPU seconds and share of the 65-step compute, with progress while the jobs run
 * (GET /v1/jobs/:id, using its `progress` when the edge reports one). One self-contained page:
 * no external requests; the API key (when the edge requires one) stays in sessionStorage.
 */
import { PAPER_REFERENCE_STEPS } from "@budgetfusion/shared/grid/step-grid";
import type { ApiKeyMode } from "../config";
import { FETCH_HELPERS, pageFunctions } from "./page-script";

/** The fixed comparison budget beside t* and the REFERENCE (a common "fast" setting). */
const FIXED_STEPS = 20;

const KEY_HINT: Record<ApiKeyMode, string> = {
  required:
    "This edge requires an API key (an operator creates one with POST /admin/keys). It is kept in this tab only.",
  optional:
    "Local mode: no key needed (calls are recorded as the anonymous consumer). A key, if you paste one, is used and billed.",
};

export function budgetPage(nonce: string, mode: ApiKeyMode): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>BudgetFusion: how many steps does a prompt need?</title>
<style nonce="${nonce}">
body{font:15px/1.45 system-ui,sans-serif;max-width:900px;margin:2em auto;padding:0 1em;color:#222}
form,.row{display:flex;gap:.5em;align-items:center}input[type=text],input[type=password]{flex:1;padding:.4em}button{padding:.4em 1em}
.hint{color:#555;font-size:.85em;margin:.2em 0 1em}.big{font-size:2em;font-weight:600}.err{color:#b00}
table{border-collapse:collapse}td,th{padding:.2em .8em;text-align:left}
.cards{display:flex;gap:1em;flex-wrap:wrap}.card{margin:0;flex:1;min-width:260px}
.card img{width:256px;height:auto;image-rendering:pixelated;display:block;background:#eee;min-height:32px}
.card progress{width:256px}.facts{font-size:.9em}.versus{font-weight:600}
</style></head><body data-api-keys="${mode}">
<h1>BudgetFusion</h1>
<p>How many denoising steps does a prompt need? BudgetFusion predicts how three perceptual metrics improve with every step and stops where they plateau: the step budget t*. Try a prompt, then generate it with t*, with the ${PAPER_REFERENCE_STEPS} steps of the paper's reference setting, and with ${FIXED_STEPS} steps.</p>
<div class="row"><label for="api-key">API key</label><input id="api-key" type="password" autocomplete="off" placeholder="bf_..."></div>
<p class="hint" id="key-hint">${KEY_HINT[mode]}</p>
<form id="f"><input id="prompt" type="text" name="prompt" value="a colorful park with a crowd" aria-label="prompt" required><button id="go" type="submit">Predict budget</button></form>
<div id="result" aria-live="polite"></div>
<div id="compare" aria-live="polite"></div>
<p id="usage" class="hint"></p>
<script nonce="${nonce}">
const REF=${PAPER_REFERENCE_STEPS},FIXED=${FIXED_STEPS};
${pageFunctions()}
${FETCH_HELPERS}
const $=id=>document.getElementById(id);
const METRICS=[["lsnr","L-SNR (pixels)","#1f77b4"],["dsim","D-SIM (mid-level)","#d62728"],["iclip","I-CLIP (semantic)","#2ca02c"]];
const keyInput=$("api-key");
keyInput.value=sessionStorage.getItem("bf-api-key")||"";
keyInput.addEventListener("input",()=>sessionStorage.setItem("bf-api-key",keyInput.value.trim()));
const key=()=>keyInput.value.trim();
function failure(err){return esc(err.message||err)+(err.status===401?" — paste an API key above":"")}
function chart(curves,tstar){
  const W=760,H=360,L=64,R=150,T=20,B=50,n=curves.steps.length;
  const all=METRICS.flatMap(m=>curves[m[0]]);
  let lo=Math.floor(Math.min(...all)*10)/10,hi=Math.ceil(Math.max(...all)*10)/10;if(hi<=lo)hi=lo+0.1;
  const x=s=>L+(W-L-R)*(s-1)/(n-1),y=v=>T+(H-T-B)*(1-(v-lo)/(hi-lo));
  let s='<svg id="chart" xmlns="http://www.w3.org/2000/svg" width="'+W+'" height="'+H+'" viewBox="0 0 '+W+' '+H+'" font-size="11" role="img" aria-label="predicted metric curves over denoising steps">';
  s+='<line x1="'+L+'" y1="'+(H-B)+'" x2="'+(W-R)+'" y2="'+(H-B)+'" stroke="#444"/><line x1="'+L+'" y1="'+T+'" x2="'+L+'" y2="'+(H-B)+'" stroke="#444"/>';
  for(const t of [1,10,20,30,40,50,65,80,100,129].filter(t=>t<=n))s+='<g class="x-tick"><line x1="'+x(t)+'" y1="'+(H-B)+'" x2="'+x(t)+'" y2="'+(H-B+4)+'" stroke="#444"/><text x="'+x(t)+'" y="'+(H-B+16)+'" text-anchor="middle">'+t+'</text></g>';
  for(let i=0;i<=5;i++){const v=lo+(hi-lo)*i/5;s+='<g class="y-tick"><line x1="'+(L-4)+'" y1="'+y(v)+'" x2="'+(W-R)+'" y2="'+y(v)+'" stroke="#e4e4e4"/><text x="'+(L-7)+'" y="'+(y(v)+4)+'" text-anchor="end">'+(+v.toFixed(2))+'</text></g>'}
  s+='<text id="x-label" x="'+((L+W-R)/2)+'" y="'+(H-10)+'" text-anchor="middle">denoising steps</text>';
  s+='<text id="y-label" x="16" y="'+((T+H-B)/2)+'" text-anchor="middle" transform="rotate(-90 16 '+((T+H-B)/2)+')">predicted metric value</text>';
  for(const [m,,c] of METRICS){s+='<polyline class="curve" data-metric="'+m+'" fill="none" stroke-width="2" stroke="'+c+'" points="'+curves[m].map((v,i)=>x(i+1).toFixed(1)+","+y(v).toFixed(1)).join(" ")+'"/>'}
  const mark=(id,t,label,dash)=>'<line id="'+id+'" x1="'+x(t)+'" y1="'+T+'" x2="'+x(t)+'" y2="'+(H-B)+'" stroke="#000"'+(dash?' stroke-dasharray="'+dash+'"':'')+'/><text x="'+(x(t)+3)+'" y="'+(T+10)+'">'+label+'</text>';
  s+=mark("tstar-line",tstar,"t* = "+tstar,"");
  if(REF<=n)s+=mark("reference-line",REF,String(REF),"5 3");
  if(FIXED<=n&&FIXED!==tstar)s+=mark("fixed-line",FIXED,String(FIXED),"2 3");
  METRICS.forEach(([m,label,c],i)=>{const ly=T+14+i*18;s+='<line x1="'+(W-R+12)+'" y1="'+ly+'" x2="'+(W-R+30)+'" y2="'+ly+'" stroke="'+c+'" stroke-width="2"/><text x="'+(W-R+35)+'" y="'+(ly+4)+'">'+label+'</text>'});
  return s+'</svg>';
}
let current;
$("f").addEventListener("submit",async e=>{
  e.preventDefault();const out=$("result");out.textContent="…";$("compare").innerHTML="";
  const prompt=$("prompt").value;
  try{
    const b=await api("/v1/budget",{prompt,include_curves:true},key());
    current={prompt,budget:b};
    out.innerHTML='<p id="summary">t* = <span class="big" id="tstar">'+b.steps+'</span> steps: <span id="versus" class="versus">'+esc(stepsVersus(b.steps,b.reference_steps))+'</span></p>'+
      '<table id="per-metric"><tr><th>metric</th><th>its own t*</th></tr>'+METRICS.map(([m,label])=>'<tr><td>'+label+'</td><td data-metric="'+m+'">'+b.per_metric[m]+'</td></tr>').join("")+'</table>'+
      chart(b.curves,b.steps)+'<p><button id="generate" type="button">Generate with '+b.steps+', '+REF+' and '+FIXED+' steps</button> <small>predictor '+esc(b.predictor_version)+'</small></p>';
    $("generate").addEventListener("click",generate);
  }catch(err){out.innerHTML='<p class="err" id="error">'+failure(err)+'</p>'}
});
const RUNS=[["tstar","t* (predicted)","auto"],["reference",REF+" steps (paper's REFERENCE)",REF],["fixed","fixed "+FIXED+" steps",FIXED]];
function show(kind,job,started){
  const f=progressFraction(job),bar=$("progress-"+kind);
  if(f===undefined)bar.removeAttribute("value");else bar.value=f;
  $("status-"+kind).textContent=progressText(job,performance.now()-started);
}
function loaded(img,blob){return new Promise((resolve,reject)=>{img.onload=resolve;img.onerror=()=>reject(new Error("the image did not decode"));img.src=URL.createObjectURL(blob)})}
async function runJob(kind,steps,prompt,seed){
  const started=performance.now();
  try{
    let job=await api("/v1/generate",{prompt,steps,seed},key());
    while(job.status!=="succeeded"&&job.status!=="failed"&&job.status!=="canceled"){
      show(kind,job,started);
      await new Promise(r=>setTimeout(r,250));
      job=await api("/v1/jobs/"+job.job_id,undefined,key());
    }
    show(kind,job,started);
    if(job.status==="failed")throw new Error(job.error?job.error.code+": "+job.error.message:"the job failed");
    const r=await fetch(job.image_url,{headers:authHeaders(key(),false)});
    if(!r.ok)throw new Error("image: HTTP "+r.status);
    await loaded($("img-"+kind),await r.blob());
    return job;
  }catch(err){const st=$("status-"+kind);st.innerHTML=failure(err);st.classList.add("err");return undefined}
}
async function generate(){
  if(current===undefined)return;
  const seed=crypto.getRandomValues(new Uint32Array(1))[0];
  $("compare").innerHTML='<h2>Same prompt, same seed ('+seed+')</h2><div class="cards">'+RUNS.map(([kind,label])=>'<figure class="card" id="card-'+kind+'" data-kind="'+kind+'"><figcaption><b>'+esc(label)+'</b></figcaption><progress id="progress-'+kind+'" max="1"></progress><div class="status" id="status-'+kind+'">submitting…</div><img id="img-'+kind+'" alt="'+esc(label)+'"><p class="facts" id="facts-'+kind+'"></p></figure>').join("")+'</div>';
  const jobs=await Promise.all(RUNS.map(([kind,,steps])=>runJob(kind,steps,current.prompt,seed)));
  const ref=jobs[1],refMs=ref&&computeMs(ref.timings&&ref.timings.worker);
  RUNS.forEach(([kind],i)=>{
    const job=jobs[i];if(!job)return;
    const ms=computeMs(job.timings&&job.timings.worker);
    $("facts-"+kind).innerHTML='<span class="steps">'+job.steps+' steps</span> · <span class="seconds">'+(ms===undefined?"?":(ms/1000).toFixed(2))+' s GPU</span>'+(ms!==undefined&&refMs?' · <span class="share">'+shareOfCompute(ms,refMs,REF)+'</span>':'')+'<br><span class="versus">'+esc(stepsVersus(job.steps,REF))+'</span>';
  });
  $("compare").dataset.done=String(jobs.filter(Boolean).length);
  refreshUsage();
}
async function refreshUsage(){
  try{
    const u=await api("/v1/usage",undefined,key()),t=u.totals;
    $("usage").innerHTML='Usage of '+esc(u.name)+' since '+u.from+': '+t.budgets+' budgets, '+t.jobs+' jobs, '+t.steps_spent+' steps spent ('+(+t.gpu_seconds.toFixed(2))+' s GPU); t* saved '+t.steps_saved_vs_reference+' steps against '+u.reference_steps+' and '+t.steps_saved_vs_baseline+' against your baseline of '+u.baseline_steps+'.';
  }catch(err){$("usage").textContent=""}
}
</script></body></html>`;
}
