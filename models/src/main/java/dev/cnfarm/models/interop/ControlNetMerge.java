package dev.cnfarm.models.interop;

import dev.cnfarm.models.arch.ModelGraphs;
import dev.cnfarm.models.onnx.proto.Onnx.GraphProto;
import dev.cnfarm.models.onnx.proto.Onnx.ModelProto;
import dev.cnfarm.models.onnx.proto.Onnx.NodeProto;
import dev.cnfarm.models.onnx.proto.Onnx.OperatorSetIdProto;
import dev.cnfarm.models.onnx.proto.Onnx.TensorProto;
import dev.cnfarm.models.onnx.proto.Onnx.ValueInfoProto;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Builds one graph from the split ControlNet form: a ControlNet graph (sample, timestep,
 * encoder_hidden_states, controlnet_cond to the residuals) and a UNet that takes the residuals as
 * inputs. The ControlNet's nodes and weights are renamed under {@code controlnet/}, each residual
 * is multiplied by its own scale and wired to the UNet's input of the same name, and the inputs
 * both graphs share become one. The merged graph has the contract of the farm's own controlled
 * UNet ({@code controlnet_images [1, batch, 3, H, W]} and {@code controlnet_scales [1, batch, R+1]},
 * one scale per batch item and residual), so the engine drives it with every control it offers
 * (window, scale, control modes, guess mode); it saves the host round trip of the residuals (about
 * 27 MB a step for SD1.5 at 512x512 under guidance) and a second session run.
 */
public final class ControlNetMerge {
    /** The ControlNet graph's control image input. */
    public static final String CONTROL_INPUT = "controlnet_cond";
    static final String PREFIX = "controlnet/";
    private static final Set<String> SHARED = Set.of(ModelGraphs.SAMPLE, ModelGraphs.TIMESTEP, ModelGraphs.CONTEXT);

    private ControlNetMerge() {}

    /**
     * A merged graph and the external weight files it names: file name beside the merged model to
     * the file it comes from (ONNX Runtime reads external data only from the model's own folder).
     */
    public record Merged(ModelProto model, Map<String, Path> externalFiles) {}

    /** Merges two graph files and saves the result as {@code out}, with their external weight files linked (or copied) beside it. */
    public static Path mergeFiles(Path controlnetFile, Path unetFile, Path out) {
        Merged m = merge(OnnxGraphs.read(controlnetFile), controlnetFile.toAbsolutePath().getParent(), OnnxGraphs.read(unetFile),
                unetFile.toAbsolutePath().getParent(), controlnetFile.toString(), unetFile.toString());
        Path dir = out.toAbsolutePath().getParent();
        try {
            java.nio.file.Files.createDirectories(dir);
            for (Map.Entry<String, Path> e : m.externalFiles().entrySet()) {
                OnnxGraphs.linkOrCopy(e.getValue(), dir.resolve(e.getKey()));
            }
        } catch (java.io.IOException e) {
            throw new LayoutException("cannot place the weight files beside " + out + ": " + e.getMessage(), e);
        }
        OnnxGraphs.write(m.model(), out);
        return out;
    }

    /**
     * @param controlnetDir the folder the ControlNet graph's external data paths are relative to
     * @param unetDir       the same for the UNet
     */
    public static Merged merge(ModelProto controlnet, Path controlnetDir, ModelProto unet, Path unetDir,
                               String controlnetLabel, String unetLabel) {
        Map<String, GraphIo> cnIn = DiffusersOnnxModel.byName(OnnxGraphs.inputs(controlnet));
        Map<String, GraphIo> cnOut = DiffusersOnnxModel.byName(OnnxGraphs.outputs(controlnet));
        Map<String, GraphIo> unIn = DiffusersOnnxModel.byName(OnnxGraphs.inputs(unet));
        List<String> residuals = DiffusersOnnxModel.residualsAmong(cnOut.keySet());
        if (residuals.isEmpty()) {
            residuals = DiffusersOnnxModel.residualNames();
        }
        for (String r : residuals) {
            if (!cnOut.containsKey(r)) {
                throw new LayoutException(controlnetLabel + ": no output '" + r + "'; a ControlNet graph gives down_block_0.._additional_residual "
                        + "in order and mid_block_additional_residual (it gives " + cnOut.keySet() + ")");
            }
            if (!unIn.containsKey(r)) {
                throw new LayoutException(unetLabel + ": no input '" + r + "'; the UNet of the split form takes the 13 residuals "
                        + "(it takes " + unIn.keySet() + ")");
            }
        }
        for (String s : SHARED) {
            GraphIo a = cnIn.get(s);
            GraphIo b = unIn.get(s);
            if (a == null || b == null) {
                throw new LayoutException((a == null ? controlnetLabel : unetLabel) + ": no input '" + s + "'");
            }
            if (a.elemType() != b.elemType() || a.rank() != b.rank()) {
                throw new LayoutException("input '" + s + "' is " + a.describe() + " in " + controlnetLabel + " but " + b.describe()
                        + " in " + unetLabel + "; both graphs must take it alike");
            }
        }
        if (!cnIn.containsKey(CONTROL_INPUT)) {
            throw new LayoutException(controlnetLabel + ": no input '" + CONTROL_INPUT + "' (the control image); it takes " + cnIn.keySet());
        }
        Set<String> extra = new HashSet<>(cnIn.keySet());
        extra.removeAll(SHARED);
        extra.remove(CONTROL_INPUT);
        if (!extra.isEmpty()) {
            throw new LayoutException(controlnetLabel + ": unexpected inputs " + extra + " (a conditioning scale inside the graph is "
                    + "not merged; the merged graph takes per-residual scales in " + ModelGraphs.CONTROL_SCALES + ")");
        }
        long cnOpset = defaultOpset(controlnet);
        long unOpset = defaultOpset(unet);
        if (cnOpset != unOpset) {
            throw new LayoutException(controlnetLabel + " is opset " + cnOpset + " and " + unetLabel + " opset " + unOpset
                    + "; export both with the same opset");
        }

        Map<String, Path> files = new java.util.LinkedHashMap<>();
        ModelProto un = OnnxGraphs.relocateExternalData(unet, loc -> place(files, "", unetDir.resolve(loc)));
        ModelProto cn = OnnxGraphs.relocateExternalData(controlnet, loc -> place(files, "controlnet.", controlnetDir.resolve(loc)));
        GraphProto cg = cn.getGraph();
        GraphProto ug = un.getGraph();

        Map<String, String> rename = new HashMap<>();
        java.util.function.UnaryOperator<String> ren = name -> name.isEmpty() || SHARED.contains(name) || name.equals(CONTROL_INPUT)
                ? name : rename.computeIfAbsent(name, n -> PREFIX + n);
        GraphProto.Builder g = GraphProto.newBuilder().setName("unet_with_controlnet");
        for (NodeProto n : cg.getNodeList()) {
            NodeProto.Builder b = n.toBuilder().clearInput().clearOutput().setName(PREFIX + n.getName());
            n.getInputList().forEach(v -> b.addInput(ren.apply(v)));
            n.getOutputList().forEach(v -> b.addOutput(ren.apply(v)));
            g.addNode(b);
        }
        // the engine's control inputs: [1, B, 3, H, W] images and [1, B, R+1] scales, one ControlNet
        g.addInitializer(int64(PREFIX + "index_0", List.of(), 0));
        g.addInitializer(int64(PREFIX + "scale_shape", List.of(4L), -1, 1, 1, 1));
        g.addNode(gather(PREFIX + "take_image", ModelGraphs.CONTROL_IMAGES, PREFIX + "index_0", CONTROL_INPUT, 0));
        g.addNode(gather(PREFIX + "take_scales", ModelGraphs.CONTROL_SCALES, PREFIX + "index_0", PREFIX + "item_scales", 0));
        for (int k = 0; k < residuals.size(); k++) {
            String r = residuals.get(k);
            String idx = PREFIX + "residual_index_" + k;
            g.addInitializer(int64(idx, List.of(), k));
            g.addNode(gather(PREFIX + "scale/" + r + "/column", PREFIX + "item_scales", idx, PREFIX + "scale/" + r + "/b", 1));
            g.addNode(NodeProto.newBuilder().setOpType("Reshape").setName(PREFIX + "scale/" + r + "/reshape")
                    .addInput(PREFIX + "scale/" + r + "/b").addInput(PREFIX + "scale_shape").addOutput(PREFIX + "scale/" + r + "/b111"));
            g.addNode(NodeProto.newBuilder().setOpType("Mul").setName(PREFIX + "scale/" + r).addInput(ren.apply(r))
                    .addInput(PREFIX + "scale/" + r + "/b111").addOutput(r));
        }
        g.addAllNode(ug.getNodeList());
        for (TensorProto t : cg.getInitializerList()) {
            g.addInitializer(t.toBuilder().setName(ren.apply(t.getName())));
        }
        g.addAllInitializer(ug.getInitializerList());
        for (ValueInfoProto v : cg.getValueInfoList()) {
            g.addValueInfo(v.toBuilder().setName(ren.apply(v.getName())));
        }
        g.addAllValueInfo(ug.getValueInfoList());
        Set<String> initNames = new HashSet<>();
        ug.getInitializerList().forEach(t -> initNames.add(t.getName()));
        cg.getInitializerList().forEach(t -> initNames.add(t.getName()));
        for (ValueInfoProto v : ug.getInputList()) {
            if (!residuals.contains(v.getName()) && !initNames.contains(v.getName())) {
                g.addInput(v);
            }
        }
        GraphIo cond = cnIn.get(CONTROL_INPUT);
        List<String> imageDims = new ArrayList<>(List.of("1"));
        imageDims.addAll(cond.dims());
        g.addInput(OnnxGraphs.valueInfo(ModelGraphs.CONTROL_IMAGES, TensorType.of(cond.elemType()).orElse(TensorType.FLOAT32), imageDims));
        g.addInput(OnnxGraphs.valueInfo(ModelGraphs.CONTROL_SCALES, TensorType.FLOAT32,
                List.of("1", cond.dims().isEmpty() ? "batch" : cond.dims().get(0), Integer.toString(residuals.size()))));
        g.addAllOutput(ug.getOutputList());
        checkUniqueNames(g, controlnetLabel, unetLabel);

        List<OperatorSetIdProto> opsets = new ArrayList<>(un.getOpsetImportList());
        for (OperatorSetIdProto o : cn.getOpsetImportList()) {
            if (opsets.stream().noneMatch(x -> x.getDomain().equals(o.getDomain()))) {
                opsets.add(o);
            }
        }
        return new Merged(ModelProto.newBuilder().setIrVersion(Math.max(cn.getIrVersion(), un.getIrVersion()))
                .setProducerName("cnfarm models merge")
                .setDocString("UNet and ControlNet merged from " + unetLabel + " and " + controlnetLabel).addAllOpsetImport(opsets)
                .setGraph(g).build(), files);
    }

    private static TensorProto int64(String name, List<Long> dims, long... values) {
        TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.INT64_VALUE).addAllDims(dims);
        for (long v : values) {
            t.addInt64Data(v);
        }
        return t.build();
    }

    private static NodeProto gather(String name, String data, String index, String out, long axis) {
        return NodeProto.newBuilder().setOpType("Gather").setName(name).addInput(data).addInput(index).addOutput(out)
                .addAttribute(dev.cnfarm.models.onnx.proto.Onnx.AttributeProto.newBuilder().setName("axis")
                        .setType(dev.cnfarm.models.onnx.proto.Onnx.AttributeProto.AttributeType.INT).setI(axis)).build();
    }

    /** Every value is produced once: a clash would mean the two graphs' names collided despite the prefix. */
    private static void checkUniqueNames(GraphProto.Builder g, String a, String b) {
        Set<String> produced = new HashSet<>();
        List<String> clashes = new ArrayList<>();
        g.getInputList().forEach(v -> { if (!produced.add(v.getName())) clashes.add(v.getName()); });
        g.getInitializerList().forEach(t -> { if (!produced.add(t.getName())) clashes.add(t.getName()); });
        g.getNodeList().forEach(n -> n.getOutputList().forEach(o -> { if (!o.isEmpty() && !produced.add(o)) clashes.add(o); }));
        if (!clashes.isEmpty()) {
            throw new LayoutException(a + " and " + b + " cannot be merged: names defined twice " + clashes.subList(0, Math.min(5, clashes.size())));
        }
    }

    private static long defaultOpset(ModelProto m) {
        return m.getOpsetImportList().stream().filter(o -> o.getDomain().isEmpty() || o.getDomain().equals("ai.onnx"))
                .mapToLong(OperatorSetIdProto::getVersion).findFirst().orElse(0);
    }

    /** The name an external file gets beside the merged model: its own, or with a prefix when the other graph's has it. */
    private static String place(Map<String, Path> files, String prefix, Path source) {
        Path src = source.toAbsolutePath().normalize();
        for (Map.Entry<String, Path> e : files.entrySet()) {
            if (e.getValue().equals(src)) {
                return e.getKey();
            }
        }
        String name = src.getFileName().toString();
        if (files.containsKey(name)) {
            name = prefix + name;
        }
        files.put(name, src);
        return name;
    }
}
