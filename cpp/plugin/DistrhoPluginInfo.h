// What DPF builds: the semeq audio effect, stereo in and out (semeq) or mono (semeq-mono, built with
// SEMEQ_MONO defined), no UI (docs/plugin-integration.md). DPF 1.6 fixes a plugin's channel count, so mono
// is its own plugin.
#pragma once

#define DISTRHO_PLUGIN_BRAND "semeq"
#define DISTRHO_PLUGIN_BRAND_ID Smeq
#ifdef SEMEQ_MONO
#define DISTRHO_PLUGIN_NAME "semeq mono"
#define DISTRHO_PLUGIN_URI "urn:semeq:semeq-mono"
#define DISTRHO_PLUGIN_CLAP_ID "org.semeq.semeq-mono"
#define DISTRHO_PLUGIN_UNIQUE_ID smEm
#define DISTRHO_PLUGIN_NUM_INPUTS 1
#define DISTRHO_PLUGIN_NUM_OUTPUTS 1
#define DISTRHO_PLUGIN_VST3_CATEGORIES "Fx|EQ|Mono"
#define DISTRHO_PLUGIN_CLAP_FEATURES "audio-effect", "equalizer", "mono"
#else
#define DISTRHO_PLUGIN_NAME "semeq"
#define DISTRHO_PLUGIN_URI "urn:semeq:semeq"
#define DISTRHO_PLUGIN_CLAP_ID "org.semeq.semeq"
#define DISTRHO_PLUGIN_UNIQUE_ID smEq
#define DISTRHO_PLUGIN_NUM_INPUTS 2
#define DISTRHO_PLUGIN_NUM_OUTPUTS 2
#define DISTRHO_PLUGIN_VST3_CATEGORIES "Fx|EQ|Stereo"
#define DISTRHO_PLUGIN_CLAP_FEATURES "audio-effect", "equalizer", "stereo"
#endif

#define DISTRHO_PLUGIN_HAS_UI 0
#define DISTRHO_PLUGIN_IS_RT_SAFE 1
#define DISTRHO_PLUGIN_WANT_PROGRAMS 0
#define DISTRHO_PLUGIN_WANT_STATE 0
#define DISTRHO_PLUGIN_LV2_CATEGORY "lv2:EQPlugin"
