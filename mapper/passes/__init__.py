"""The mapper as a list of named passes, each ``graph -> graph`` on typed node records.

A pass is a function ``(graph, ctx) -> graph`` registered by name with :func:`flow_pass`; the
:class:`FlowContext` carries the inputs a pass list needs (the model, the target, the output
folder, the samples) and what passes produce besides the graph (the emitted design, simulation
and synthesis results). :func:`run_passes` runs a list of names (:mod:`mapper.flow`) and, for every
pass named in ``ctx.dump_graph`` (or all of them with ``"all"``), writes the graph after it as JSON
and a PNG picture into ``ctx.dump_dir``.

The passes, in the order the standard lists run them:

| pass | module | does |
| --- | --- | --- |
| capture | ``mapper.capture`` | torch.export of the float twin, aten graph -> dataflow graph |
| assign | ``mapper.passes.formats`` | a library component for every operation, or an error naming it |
| resolve_formats | ``mapper.passes.formats`` | formats of the ports and of float ReLUs |
| insert_casts | ``mapper.passes.formats`` | a cast wherever a producer's format is not its consumer's |
| insert_forks | ``mapper.passes.formats`` | a fork wherever a stream has several consumers |
| check_topology | ``mapper.passes.formats`` | one input, one output, every node on a path between them |
| fold | ``mapper.passes.folding`` | lanes per node for the throughput target (cheapest that meets it) |
| insert_plumbing | ``mapper.passes.folding`` | lane adapters, FIFOs, branch FIFOs sized from the schedule |
| annotate | ``mapper.passes.folding`` | RTL parameters, cycles, resources, the pipeline's predictions |
| clock | ``mapper.passes.clock`` | predicted Fmax on ECP5 and the node that limits it |
| emit | ``mapper.emit`` | the design folder: top, memory images, FuseSoC core, report |
| simulate | ``mapper.simulate`` | Verilator runs: bit-exact under stalls, measured cycles and latency |
| synthesize | ``mapper.synthesize`` | Yosys resources of the emitted top |
| place_and_route | ``mapper.place_route`` | nextpnr on ECP5: Fmax, critical path, inferences/s, latency in ns |
| report | ``mapper.emit`` | report.json / report.md with everything measured so far |
"""
