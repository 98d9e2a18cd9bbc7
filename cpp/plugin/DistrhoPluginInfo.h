// What DPF builds: the semeq audio effect, stereo in and out, no UI (docs/plugin-integration.md).
#pragma once

#define DISTRHO_PLUGIN_BRAND "semeq"
#define DISTRHO_PLUGIN_NAME "semeq"
#define DISTRHO_PLUGIN_URI "urn:semeq:semeq"
#define DISTRHO_PLUGIN_CLAP_ID "org.semeq.semeq"
#define DISTRHO_PLUGIN_BRAND_ID Smeq
#define DISTRHO_PLUGIN_UNIQUE_ID smEq

#define DISTRHO_PLUGIN_HAS_UI 0
#define DISTRHO_PLUGIN_IS_RT_SAFE 1
#define DISTRHO_PLUGIN_NUM_INPUTS 2
#define DISTRHO_PLUGIN_NUM_OUTPUTS 2
#define DISTRHO_PLUGIN_WANT_PROGRAMS 0
#define DISTRHO_PLUGIN_WANT_STATE 0

#define DISTRHO_PLUGIN_LV2_CATEGORY "lv2:EQPlugin"
#define DISTRHO_PLUGIN_VST3_CATEGORIES "Fx|EQ|Stereo"
#define DISTRHO_PLUGIN_CLAP_FEATURES "audio-effect", "equalizer", "stereo"
