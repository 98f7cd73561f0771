/**
 * The operator view at /ops: with the admin token (kept in this tab's sessionStorage) it lists
 * the keys, creates one (shown once), shows each key's usage and savings over the last 30 days,
 * and the plots of cumulative savings over time (GET /admin/usage/savings.svg, drawn by the
 * edge). The page itself holds no data; everything comes from the admin API.
 */
import { PLAN_NAMES } from "@budgetfusion/shared/schemas/consumer-api";
import { FETCH_HELPERS } from "./page-script";

export function opsPage(nonce: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>BudgetFusion: operator view</title>
<style nonce="${nonce}">
body{font:14px/1.4 system-ui,sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222}
.row{display:flex;gap:.5em;align-items:center;margin:.5em 0}input{padding:.35em}button{padding:.35em .9em}
table{border-collapse:collapse;margin:.5em 0}td,th{padding:.2em .6em;text-align:right;border-bottom:1px solid #eee}td:first-child,th:first-child{text-align:left}
.err{color:#b00}code{background:#f4f4f4;padding:.1em .3em}.plots{display:flex;flex-wrap:wrap;gap:1em}
</style></head><body>
<h1>BudgetFusion operator view</h1>
<div class="row"><label for="token">Admin token</label><input id="token" type="password" autocomplete="off"><button id="load" type="button">Load</button></div>
<div class="row"><label for="key-name">New key</label><input id="key-name" placeholder="name"><select id="key-plan">${PLAN_NAMES.map((p) => `<option>${p}</option>`).join("")}</select><input id="key-baseline" type="number" min="1" max="200" value="50" aria-label="baseline steps"><button id="create" type="button">Create key</button></div>
<p id="created"></p><p id="error" class="err"></p>
<h2>Savings over time</h2><div class="plots" id="plots"></div>
<h2>Usage per key (last 30 days)</h2><div id="usage"></div>
<script nonce="${nonce}">
${FETCH_HELPERS}
const $=id=>document.getElementById(id);
const tokenInput=$("token");
tokenInput.value=sessionStorage.getItem("bf-admin-token")||"";
tokenInput.addEventListener("input",()=>sessionStorage.setItem("bf-admin-token",tokenInput.value.trim()));
const token=()=>tokenInput.value.trim();
const COLUMNS=[["budgets","budgets"],["jobs","jobs"],["steps_spent","steps spent"],["gpu_seconds","GPU s"],["steps_saved_vs_baseline","steps saved vs baseline"],["steps_saved_vs_reference","steps saved vs 65"],["gpu_seconds_saved_vs_reference","GPU s saved vs 65"],["budget_steps_saved_vs_reference","budget steps saved vs 65"]];
const num=v=>Number.isInteger(v)?String(v):v.toFixed(2);
async function load(){
  $("error").textContent="";
  try{
    const usage=await api("/admin/usage",undefined,token());
    $("usage").innerHTML='<table id="usage-table"><tr><th>key</th><th>plan</th><th>baseline</th>'+COLUMNS.map(c=>'<th>'+c[1]+'</th>').join("")+'</tr>'+
      usage.keys.map(k=>'<tr data-key="'+esc(k.key_id)+'"><td>'+esc(k.name)+'</td><td>'+esc(k.plan||"-")+'</td><td>'+k.baseline_steps+'</td>'+COLUMNS.map(c=>'<td>'+num(k.totals[c[0]])+'</td>').join("")+'</tr>').join("")+
      '<tr><th>all</th><th></th><th></th>'+COLUMNS.map(c=>'<th>'+num(usage.totals[c[0]])+'</th>').join("")+'</tr></table>';
    const plots=[];
    for(const metric of ["steps","gpu_seconds"]){
      const r=await fetch("/admin/usage/savings.svg?metric="+metric,{headers:authHeaders(token(),false)});
      if(!r.ok)throw new Error("plot: HTTP "+r.status);
      plots.push('<figure data-metric="'+metric+'">'+await r.text()+'</figure>');
    }
    $("plots").innerHTML=plots.join("");
  }catch(err){$("error").textContent=err.message||String(err)}
}
$("load").addEventListener("click",load);
$("create").addEventListener("click",async()=>{
  $("error").textContent="";
  try{
    const k=await api("/admin/keys",{name:$("key-name").value,plan:$("key-plan").value,baseline_steps:Number($("key-baseline").value)},token());
    $("created").innerHTML='Key for '+esc(k.name)+' (shown once): <code id="new-key">'+esc(k.api_key)+'</code>';
    load();
  }catch(err){$("error").textContent=err.message||String(err)}
});
if(token())load();
</script></body></html>`;
}
