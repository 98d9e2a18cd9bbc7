// Binding of semeq::OnnxModel (bindings/onnx_model.cpp), added to the module by module.cpp where the
// extension is built with ONNX Runtime's headers (SEMEQ_ONNX_MODEL).
#pragma once

#include <pybind11/pybind11.h>

void bindOnnxModel(pybind11::module_& m);
