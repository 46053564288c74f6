///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+
//DEPS org.mockito:mockito-core:5.24.0
//DEPS de.jplag:jplag:6.0.0
//DEPS de.jplag:java:6.0.0
//DEPS org.slf4j:slf4j-nop:2.0.17
//SOURCES grader/*.java

/// Grades the labs. From the course's top folder:
///
/// `./jbang labs/Grade.java 01` grades lab 01, `./jbang labs/Grade.java` grades every lab,
/// `ex05` grades chapter 05's exercises, `--solution` grades the reference solutions (or worked
/// answers), `--watch ex05` grades again at each save, `--progress` shows the whole course,
/// `--list` lists what there is to grade. Read: labs/README.adoc
class Grade {
    public static void main(String[] args) throws Exception {
        grading.Grader.main(args);
    }
}
