//! Tests across the layer modules: the model test, the named cases of the spec, hostile
//! layers. Unit tests of one module live next to it.

mod cases;
mod fixture;
mod hostile;
mod model;
mod world;
