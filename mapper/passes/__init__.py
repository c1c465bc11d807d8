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
| check_topology | ``mapper.passes.formats`` | the graph is a chain from the input to the output |
| resolve_formats | ``mapper.passes.formats`` | formats of the ports and of float ReLUs |
| insert_casts | ``mapper.passes.formats`` | a cast wherever a producer's format is not its consumer's |
| fold | ``mapper.passes.folding`` | lanes per node for the throughput target (cheapest that meets it) |
| insert_plumbing | ``mapper.passes.folding`` | lane adapters and FIFOs between nodes |
| annotate | ``mapper.passes.folding`` | RTL parameters, cycles, resources, the pipeline's predictions |
| emit | ``mapper.emit`` | the design folder: top, memory images, FuseSoC core, report |
| simulate | ``mapper.simulate`` | Verilator runs: bit-exact under stalls, measured cycles and latency |
| synthesize | ``mapper.synthesize`` | Yosys resources of the emitted top |
| report | ``mapper.emit`` | report.json / report.md with everything measured so far |
"""
